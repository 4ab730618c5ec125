import Testing
@testable import AutoProg

/// Direct convolution by its definition, in Float64: x [B, Cin, H, W], w [Cout, Cin, kh, kw].
private func naiveConv2d(_ x: Tensor, _ w: Tensor, _ bias: Tensor?, stride: Int, padding: Int) -> [Float] {
    let (b, cin, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let (cout, kh, kw) = (w.shape[0], w.shape[2], w.shape[3])
    let oh = (h + 2 * padding - kh) / stride + 1, ow = (wd + 2 * padding - kw) / stride + 1
    var out = [Float]()
    for n in 0..<b { for o in 0..<cout { for y in 0..<oh { for xo in 0..<ow {
        var s = Double(bias?[o] ?? 0)
        for c in 0..<cin { for i in 0..<kh { for j in 0..<kw {
            let iy = y * stride + i - padding, ix = xo * stride + j - padding
            if iy >= 0 && iy < h && ix >= 0 && ix < wd { s += Double(x[n, c, iy, ix]) * Double(w[o, c, i, j]) }
        } } }
        out.append(Float(s))
    } } } }
    return out
}

@Suite struct ConvolutionTests {
    @Test func matchesDirectConvolution() throws {
        // (kernel, stride, padding): k×k with padding, strided, 1×1 GEMM path, patch embedding.
        for (k, s, p) in [(3, 1, 1), (3, 2, 1), (1, 1, 0), (2, 2, 0), (3, 2, 0), (1, 2, 1)] {
            for batch in [1, 3] {
                let x = Tensor.randn([batch, 3, 7, 6]), w = Tensor.randn([4, 3, k, k]), b = Tensor.randn([4])
                let y = try conv2d(x, weight: w, bias: b, stride: s, padding: p)
                #expect(y.shape == [batch, 4, (7 + 2 * p - k) / s + 1, (6 + 2 * p - k) / s + 1])
                expectClose(y.toArray(), naiveConv2d(x, w, b, stride: s, padding: p))
                let y0 = try conv2d(x, weight: w, bias: nil, stride: s, padding: p)
                expectClose(y0.toArray(), naiveConv2d(x, w, nil, stride: s, padding: p))
            }
        }
    }

    @Test func nonContiguousInputIsAccepted() throws {
        // A [B, C, W, H] tensor viewed transposed to [B, C, H, W].
        let base = Tensor.randn([2, 2, 5, 4])
        let x = Tensor(storage: base.storage, offset: 0, shape: [2, 2, 4, 5], strides: [40, 20, 1, 4])
        let w = Tensor.randn([3, 2, 3, 3])
        expectClose(try conv2d(x, weight: w, bias: nil, padding: 1).toArray(), naiveConv2d(x, w, nil, stride: 1, padding: 1))
    }

    @Test func gradients() throws {
        let check = GradientCheck()
        for (k, s, p) in [(3, 1, 1), (3, 2, 1), (1, 1, 0), (2, 2, 0)] {
            #expect(try check.mismatches([Tensor.randn([3, 2, 5, 6]), Tensor.randn([3, 2, k, k]), Tensor.randn([3])]) {
                try conv2d($0[0], weight: $0[1], bias: $0[2], stride: s, padding: p)
            }.isEmpty, "kernel \(k) stride \(s) padding \(p)")
        }
        // One image (GEMMs split instead of images) and no bias.
        #expect(try check.mismatches([Tensor.randn([1, 2, 4, 4]), Tensor.randn([2, 2, 3, 3])]) {
            try conv2d($0[0], weight: $0[1], bias: nil, padding: 1)
        }.isEmpty)
    }

    @Test func onlyRequiredGradientsAreComputed() throws {
        let x = Tensor.randn([2, 2, 4, 4])
        let w = Tensor.randn([3, 2, 3, 3]).requiringGrad(), b = Tensor.randn([3])
        let y = try conv2d(x, weight: w, bias: b, padding: 1)
        try y.backward(gradient: Tensor.ones(y.shape))
        #expect(w.grad?.shape == [3, 2, 3, 3])
        #expect(x.grad == nil && b.grad == nil)
        // Bias gradient = sum of the output gradient over batch and space.
        let b2 = Tensor.randn([3]).requiringGrad()
        let y2 = try conv2d(x, weight: w.detached(), bias: b2, padding: 1)
        try y2.backward(gradient: Tensor.ones(y2.shape))
        #expect(b2.grad!.toArray() == [32, 32, 32])
    }

    @Test func badShapesThrow() {
        let x = Tensor.zeros([1, 3, 5, 5])
        #expect { try conv2d(x, weight: Tensor.zeros([4, 2, 3, 3]), bias: nil) } throws: {
            "\($0)".contains("[1, 3, 5, 5]") && "\($0)".contains("[4, 2, 3, 3]")
        }
        #expect(throws: TensorError.self) { try conv2d(x, weight: Tensor.zeros([4, 3, 7, 7]), bias: nil) }
        #expect(throws: TensorError.self) { try conv2d(x, weight: Tensor.zeros([4, 3, 3, 3]), bias: Tensor.zeros([3])) }
        #expect(throws: TensorError.self) { try conv2d(x, weight: Tensor.zeros([4, 3, 3, 3]), bias: nil, stride: 0) }
        #expect(throws: TensorError.self) { try conv2d(Tensor.zeros([3, 5, 5]), weight: Tensor.zeros([4, 3, 3, 3]), bias: nil) }
    }
}
