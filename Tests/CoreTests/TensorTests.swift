import Testing
@testable import AutoProg

@Suite struct TensorTests {
    @Test func initialisationChecksCount() throws {
        let t = try Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3])
        #expect(t.shape == [2, 3])
        #expect(t.strides == [3, 1])
        #expect(t[1, 2] == 6)
        #expect(throws: TensorError.self) { try Tensor([1, 2, 3], shape: [2, 2]) }
    }

    @Test func stridedCopyFollowsTheView() throws {
        let t = try Tensor((0..<6).map(Float.init), shape: [2, 3])
        // A transposed view of t: shape [3, 2], strides [1, 3].
        let tt = Tensor(storage: t.storage, offset: 0, shape: [3, 2], strides: [1, 3])
        #expect(!tt.isContiguous)
        #expect(tt.toArray() == [0, 3, 1, 4, 2, 5])
        #expect(tt.contiguous().isContiguous)
    }

    @Test func itemNeedsOneElement() throws {
        #expect(try Tensor(scalar: 3).item() == 3)
        #expect(throws: TensorError.self) { try Tensor.zeros([2]).item() }
    }

    @Test func nonFiniteDetection() throws {
        #expect(!Tensor.ones([100]).hasNonFinite)
        let t = Tensor.ones([100])
        t.pointer[57] = .nan
        #expect(t.hasNonFinite)
    }

    @Test func poolReusesReleasedBuffers() {
        var first: UnsafeMutablePointer<Float>?
        do {
            let a = Tensor.zeros([1000, 33])
            first = a.pointer
        }
        let b = Tensor(uninitializedShape: [1000, 33])
        #expect(b.pointer == first)
    }
}

@Suite struct RandomTests {
    @Test func philoxKnownAnswer() {
        // Random123's known-answer test for philox4x32-10 with zero counter and key.
        let (a, b, c, d) = Philox.block(key: 0, index: 0)
        #expect([a, b, c, d] == [0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8])
    }

    @Test func sameSeedSameBits() {
        Random.manualSeed(7)
        let a = Tensor.randn([1000]).toArray()
        Random.manualSeed(7)
        let b = Tensor.randn([1000]).toArray()
        #expect(a == b)
        let c = Tensor.randn([1000]).toArray()
        #expect(a != c)
    }

    @Test func stateRestoresExactly() {
        Random.manualSeed(3)
        _ = Tensor.randn([17])
        let saved = Random.state
        let a = Tensor.rand([64]).toArray()
        Random.restore(saved)
        #expect(Tensor.rand([64]).toArray() == a)
    }

    @Test func normalMoments() {
        var s = RandomStream(seed: 1)
        let n = 200_000
        let t = Tensor(uninitializedShape: [n])
        s.fillNormal(t.pointer, count: n, mean: 2, std: 3)
        let v = t.toArray().map(Double.init)
        let mean = v.reduce(0, +) / Double(n)
        let std = (v.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(n)).squareRoot()
        #expect(abs(mean - 2) < 0.03)
        #expect(abs(std - 3) < 0.03)
    }

    @Test func truncatedNormalStaysInBounds() {
        var s = RandomStream(seed: 2)
        let t = Tensor(uninitializedShape: [10_000])
        s.fillTruncatedNormal(t.pointer, count: t.count, std: 1, low: -0.5, high: 0.5)
        #expect(t.toArray().allSatisfy { $0 >= -0.5 && $0 <= 0.5 })
    }

    @Test func permutationIsAPermutation() {
        var s = RandomStream(seed: 5)
        let p = s.permutation(1000)
        #expect(p.sorted() == Array(0..<1000))
        #expect(p != Array(0..<1000))
    }
}
