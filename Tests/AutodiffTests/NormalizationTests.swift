import Testing
@testable import AutoProg

/// Naive normalisation of consecutive blocks of `block` elements (Double), then a
/// per-channel affine where channel = (element / spatial) % channels.
private func naiveNormalize(_ x: [Float], block: Int, spatial: Int, channels: Int, weight: [Float]?, bias: [Float]?,
                            epsilon: Double = 1e-5) -> [Float] {
    var out = [Float](repeating: 0, count: x.count)
    for start in stride(from: 0, to: x.count, by: block) {
        let v = x[start..<(start + block)].map(Double.init)
        let mean = v.reduce(0, +) / Double(block)
        let variance = v.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(block)
        for (j, value) in v.enumerated() {
            let c = ((start + j) / spatial) % channels
            let y = (value - mean) / (variance + epsilon).squareRoot()
            out[start + j] = Float(y * Double(weight?[c] ?? 1) + Double(bias?[c] ?? 0))
        }
    }
    return out
}

@Suite struct NormalizationTests {
    @Test func layerNormMatchesNaive() throws {
        // 37 columns: vector body plus tail; shifted data tests the two-pass variance.
        let x = Tensor.randn([2, 5, 37], mean: 30, std: 2), w = Tensor.randn([37]), b = Tensor.randn([37])
        expectClose(try layerNorm(x, weight: w, bias: b).toArray(),
                    naiveNormalize(x.toArray(), block: 37, spatial: 1, channels: 37, weight: w.toArray(), bias: b.toArray()),
                    tolerance: 2e-5)
        expectClose(try layerNorm(x, weight: nil, bias: nil, epsilon: 1e-6).toArray(),
                    naiveNormalize(x.toArray(), block: 37, spatial: 1, channels: 37, weight: nil, bias: nil, epsilon: 1e-6),
                    tolerance: 2e-5)
    }

    @Test func layerNormGradients() throws {
        let check = GradientCheck()
        let x = Tensor.randn([3, 4, 10]), w = Tensor.randn([10]), b = Tensor.randn([10])
        #expect(try check.mismatches([x, w, b]) { try layerNorm($0[0], weight: $0[1], bias: $0[2]) }.isEmpty)
        #expect(try check.mismatches([x]) { try layerNorm($0[0], weight: nil, bias: nil) }.isEmpty)
        // Frozen affine parameters: only dx; and only the parameters (constant input).
        #expect(try check.mismatches([x, w, b], constant: [1, 2]) { try layerNorm($0[0], weight: $0[1], bias: $0[2]) }.isEmpty)
        #expect(try check.mismatches([x, w, b], constant: [0]) { try layerNorm($0[0], weight: $0[1], bias: $0[2]) }.isEmpty)
    }

    @Test func layerNormParameterGradientsAcrossWorkers() throws {
        // Enough rows to split the backward across threads; dbias = column sums of dy.
        let x = Tensor.randn([3000, 16]), w = Tensor.randn([16]).requiringGrad(), b = Tensor.zeros([16]).requiringGrad()
        let dy = Tensor.randn([3000, 16])
        try layerNorm(x, weight: w, bias: b).backward(gradient: dy)
        let g = dy.toArray()
        let expected = (0..<16).map { c in (0..<3000).reduce(Float(0)) { $0 + g[$1 * 16 + c] } }
        expectClose(b.grad!.toArray(), expected, tolerance: 1e-4)
    }

    @Test func groupNormMatchesNaive() throws {
        let x = Tensor.randn([2, 6, 3, 5], mean: 4, std: 3), w = Tensor.randn([6]), b = Tensor.randn([6])
        expectClose(try groupNorm(x, groups: 3, weight: w, bias: b).toArray(),
                    naiveNormalize(x.toArray(), block: 2 * 15, spatial: 15, channels: 6, weight: w.toArray(), bias: b.toArray()),
                    tolerance: 2e-5)
        // One group per channel is instance norm; a [B, C] input has no spatial axes.
        let y = Tensor.randn([4, 6])
        expectClose(try groupNorm(y, groups: 2, weight: nil, bias: nil).toArray(),
                    naiveNormalize(y.toArray(), block: 3, spatial: 1, channels: 6, weight: nil, bias: nil), tolerance: 2e-5)
    }

    @Test func groupNormGradients() throws {
        let check = GradientCheck()
        let x = Tensor.randn([2, 6, 3, 3]), w = Tensor.randn([6]), b = Tensor.randn([6])
        #expect(try check.mismatches([x, w, b]) { try groupNorm($0[0], groups: 3, weight: $0[1], bias: $0[2]) }.isEmpty)
        #expect(try check.mismatches([x]) { try groupNorm($0[0], groups: 2, weight: nil, bias: nil) }.isEmpty)
        #expect(try check.mismatches([x, w, b], constant: [0]) { try groupNorm($0[0], groups: 6, weight: $0[1], bias: $0[2]) }.isEmpty)
    }

    @Test func badShapesThrow() {
        #expect { try layerNorm(Tensor.zeros([2, 4]), weight: Tensor.ones([5]), bias: nil) } throws: {
            "\($0)".contains("layer_norm") && "\($0)".contains("[2, 4]") && "\($0)".contains("[5]")
        }
        #expect { try layerNorm(Tensor.zeros([2, 4]), weight: nil, bias: Tensor.ones([2, 4])) } throws: { "\($0)".contains("bias") }
        #expect { try groupNorm(Tensor.zeros([2, 6, 4]), groups: 4, weight: nil, bias: nil) } throws: {
            "\($0)".contains("group_norm") && "\($0)".contains("4 groups")
        }
        #expect { try groupNorm(Tensor.zeros([6]), groups: 3, weight: nil, bias: nil) } throws: { "\($0)".contains("group_norm") }
        #expect { try groupNorm(Tensor.zeros([1, 6, 2]), groups: 3, weight: Tensor.ones([3]), bias: nil) } throws: { "\($0)".contains("weight") }
    }
}
