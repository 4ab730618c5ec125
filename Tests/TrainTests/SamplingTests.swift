import Foundation
import Testing
@testable import AutoProg

/// Periodic samples of a generative run: a grid PNG per sampling step in samples/, taken
/// in eval mode without gradients, with the EMA weights.
@Suite(.serialized) struct SamplingTests {
    @Test func samplesAreWrittenEveryNStepsAndAtTheEndWithEMAWeights() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("samples-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let run = try RunDirectory(root: root, name: "gen")
        Random.manualSeed(5)
        let model = Sequential([Linear(16, 3)])
        var c = Trainer.Configuration(model: model, data: SyntheticDataset(count: 64), batchSize: 8, steps: 7)
        c.sampleEverySteps = 3
        c.emaDecays = [0.5]
        let t = try Trainer(c, makeOptimizer: { try SGD(parameters: $0.parameters, learningRate: 0.1) }, run: run)
        t.lossFunction = { m, b in try crossEntropy(m(b.images.reshaped([b.labels.count, 16])), targets: b.labels) }
        var sampledAt: [Int] = [], notified: [String] = []
        t.sampler = { s in
            sampledAt.append(s.step)
            #expect(!model.isTraining && !Autograd.isEnabled)
            // The EMA copy is swapped in: the live weights equal the average.
            let ema = try t.ema!.weights(decayIndex: 0)
            #expect(model.stateDict()["0.weight"]!.toArray() == ema["0.weight"]!.toArray())
            return Tensor.full([4, 1, 5, 5], Float(s.step) / 10)
        }
        t.onSamples = { _, url, png in
            notified.append(url.lastPathComponent)
            #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]))
        }
        try t.train()
        #expect(sampledAt == [3, 6, 7])
        #expect(notified == ["step-000003.png", "step-000006.png", "step-000007.png"])
        // A 2×2 grid of 5-pixel images with 2-pixel padding, pixel value step/10.
        let grid = try PNG.read(run.samplesURL.appendingPathComponent("step-000006.png"))
        #expect(grid.shape == [1, 16, 16])
        #expect(abs(grid.toArray()[2 * 16 + 2] - 0.6) < 1.0 / 255)
        #expect(model.isTraining)
    }

    @Test func badSamplesAreErrors() throws {
        Random.manualSeed(5)
        let c = Trainer.Configuration(model: Sequential([Linear(16, 3)]), data: SyntheticDataset(count: 64), batchSize: 8, steps: 1)
        let t = try Trainer(c, makeOptimizer: { try SGD(parameters: $0.parameters, learningRate: 0.1) })
        t.sampler = { _ in Tensor.full([2, 2], .nan) }
        #expect(throws: TrainingError.self) { try t.writeSamples() }
        t.sampler = { _ in Tensor.full([1, 1, 2, 2], .nan) }
        #expect(throws: TrainingError.self) { try t.writeSamples() }
    }
}
