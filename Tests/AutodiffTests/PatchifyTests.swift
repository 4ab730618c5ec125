import Testing
@testable import AutoProg

@Suite struct PatchifyTests {
    @Test func patchifyThenLinearEqualsStridedConvolution() throws {
        let x = Tensor.randn([2, 3, 8, 12]), w = Tensor.randn([5, 3, 4, 4]), b = Tensor.randn([5])
        let tokens = try linear(try patchify(x, patch: 4), weight: try w.reshaped([5, 48]), bias: b)
        #expect(tokens.shape == [2, 6, 5])
        // conv2d gives [B, 5, 2, 3]; tokens are its [B, 6, 5] transpose (timm's flatten(2).transpose(1, 2)).
        let conv = try conv2d(x, weight: w, bias: b, stride: 4)
        var transposed = [Float]()
        for n in 0..<2 { for t in 0..<6 { for c in 0..<5 { transposed.append(conv[n, c, t / 3, t % 3]) } } }
        expectClose(tokens.toArray(), transposed)
    }

    @Test func unpatchifyFollowsDiTOrder() throws {
        // x[n, h·Wp + w, (p·P + q)·C + c] → image[n, c, h·P + p, w·P + q].
        let (b, c, p, hp, wp) = (2, 3, 2, 2, 3)
        let x = Tensor.randn([b, hp * wp, p * p * c])
        let y = try unpatchify(x, patch: p, channels: c, height: hp * p, width: wp * p)
        #expect(y.shape == [b, c, hp * p, wp * p])
        for n in 0..<b { for ch in 0..<c { for i in 0..<hp * p { for j in 0..<wp * p {
            let token = (i / p) * wp + j / p, feature = ((i % p) * p + j % p) * c + ch
            #expect(y[n, ch, i, j] == x[n, token, feature])
        } } } }
        // With one channel DiT's (p, q, c) and patchify's (c, kh, kw) orders coincide.
        let img = Tensor.randn([2, 1, 4, 6])
        #expect(try unpatchify(patchify(img, patch: 2), patch: 2, channels: 1, height: 4, width: 6).toArray() == img.toArray())
    }

    @Test func gradients() throws {
        let check = GradientCheck()
        #expect(try check.mismatches([Tensor.randn([2, 3, 4, 6])]) { try patchify($0[0], patch: 2) }.isEmpty)
        #expect(try check.mismatches([Tensor.randn([2, 6, 12])]) {
            try unpatchify($0[0], patch: 2, channels: 3, height: 4, width: 6)
        }.isEmpty)
    }

    @Test func badShapesThrow() {
        #expect(throws: TensorError.self) { try patchify(Tensor.zeros([1, 3, 6, 8]), patch: 4) }
        #expect(throws: TensorError.self) { try patchify(Tensor.zeros([3, 8, 8]), patch: 4) }
        #expect(throws: TensorError.self) { try unpatchify(Tensor.zeros([1, 6, 12]), patch: 2, channels: 3, height: 4, width: 4) }
        #expect(throws: TensorError.self) { try unpatchify(Tensor.zeros([1, 6, 12]), patch: 2, channels: 3, height: 5, width: 6) }
        #expect(throws: TensorError.self) { try unpatchify(Tensor.zeros([1, 6, 10]), patch: 2, channels: 3, height: 4, width: 6) }
    }
}
