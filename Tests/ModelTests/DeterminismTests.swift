import Testing
@testable import AutoProg

@Suite struct DeterminismTests {
    /// Three AdamW steps of a ViT with stochastic depth, from the same seed: bit-identical.
    func trainedWeights(seed: UInt64) throws -> [Float] {
        Random.manualSeed(seed)
        let model = try VisionTransformer(.init(imageSize: 8, patchSize: 2, channels: 1, classes: 4,
                                                dimension: 16, depth: 3, heads: 2, dropPath: 0.2))
        let optimizer = try AdamW(parameters: model.parameters, learningRate: 1e-2)
        for _ in 0..<3 {
            let images = Tensor.randn([8, 1, 8, 8], purpose: .augmentation)
            let labels = (0..<8).map { _ in Random.with(.dataOrder) { $0.nextInt(below: 4) } }
            let loss = try crossEntropy(model(images), targets: labels, labelSmoothing: 0.1)
            optimizer.zeroGrad()
            try loss.backward()
            try optimizer.step()
        }
        return model.parameters.flatMap { $0.value.toArray() }
    }

    @Test func sameSeedSameBits() throws {
        let a = try trainedWeights(seed: 11), b = try trainedWeights(seed: 11)
        #expect(a.elementsEqual(b) { $0.bitPattern == $1.bitPattern })
        let c = try trainedWeights(seed: 12)
        #expect(!a.elementsEqual(c))
    }
}
