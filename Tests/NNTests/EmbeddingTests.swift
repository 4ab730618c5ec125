import Testing
@testable import AutoProg

@Suite struct EmbeddingTests {
    @Test func weightIsNamedShapedAndStandardNormal() throws {
        Random.manualSeed(3)
        let e = Embedding(count: 100, dimension: 64)
        #expect(e.namedParameters().map(\.0) == ["weight"])
        #expect(e.weight.shape == [100, 64])
        let w = e.weight.value.toArray()
        let mean = w.reduce(0, +) / Float(w.count)
        let std = (w.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(w.count)).squareRoot()
        #expect(Swift.abs(mean) < 0.05)
        #expect(Swift.abs(std - 1) < 0.05)
        #expect(e.description.contains("100, 64"))
    }

    @Test func forwardLooksUpRowsAndTrainsThem() throws {
        let e = Embedding(count: 4, dimension: 3)
        let w = e.weight.value.toArray()
        let y = try e([2, 2, 1])
        #expect(y.toArray() == Array(w[6..<9] + w[6..<9] + w[3..<6]))
        let z = try e(try Tensor([3, 0], shape: [2, 1]))
        #expect(z.shape == [2, 1, 3])
        e.zeroGrad()
        try y.backward(gradient: Tensor.ones([3, 3]))
        #expect(e.weight.grad.toArray() == [0, 0, 0, 1, 1, 1, 2, 2, 2, 0, 0, 0])
    }

    @Test func frozenTableRecordsNothing() throws {
        let e = Embedding(count: 4, dimension: 3)
        e.setRequiresGrad(false)
        #expect(try !e([1]).requiresGrad)
    }
}
