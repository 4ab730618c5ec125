import Foundation
import Testing
@testable import AutoProg

/// A small in-memory classification set: class k images are filled with k/10 plus noise.
final class SyntheticDataset: Dataset {
    let count: Int
    let imageShape = [1, 4, 4]
    let classNames = (0..<3).map { "class \($0)" }
    init(count: Int) { self.count = count }
    func load(_ indices: [Int], into images: UnsafeMutablePointer<Float>) throws -> [Int] {
        for (n, i) in indices.enumerated() {
            var s = RandomStream(seed: UInt64(i), purpose: "synthetic")
            s.fillNormal(images + n * 16, count: 16, mean: Float(i % 3) / 3, std: 0.1)
        }
        return indices.map { $0 % 3 }
    }
}

@Suite(.serialized) struct TrainerTests {
    func makeTrainer(steps: Int = 6, accumulation: Int = 1, run: RunDirectory? = nil, batch: Int = 8) throws -> Trainer {
        Random.manualSeed(5)
        let model = Sequential([Linear(16, 3)])
        var c = Trainer.Configuration(model: model, data: SyntheticDataset(count: 64), batchSize: batch, steps: steps)
        c.gradientAccumulation = accumulation
        let t = try Trainer(c, makeOptimizer: { try SGD(parameters: $0.parameters, learningRate: 0.1) },
                            schedule: try CosineSchedule(baseLearningRate: 0.1, totalSteps: steps), run: run)
        t.lossFunction = { m, b in try crossEntropy(m(b.images.reshaped([b.labels.count, 16])), targets: b.labels) }
        return t
    }

    @Test func trainingLowersTheLoss() throws {
        let t = try makeTrainer(steps: 30)
        var losses: [Float] = []
        t.onStep = { losses.append($0.loss) }
        try t.train()
        #expect(losses.count == 30)
        #expect(losses.suffix(5).reduce(0, +) < losses.prefix(5).reduce(0, +))
    }

    @Test func nonFiniteLossStopsNamingTheStepAndKeepsTheWeights() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("trainer-nan-\(UUID().uuidString)")
        let t = try makeTrainer(run: try RunDirectory(root: dir, name: "nan"))
        let base = t.lossFunction!
        var calls = 0
        t.lossFunction = { m, b in
            calls += 1
            let loss = try base(m, b)
            return calls == 3 ? try loss * Float.nan : loss
        }
        #expect { try t.train() } throws: { error in
            "\(error)".contains("loss is nan at step 3") && "\(error)".contains("last good weights")
        }
        let latest = try #require(try CheckpointManager(directory: t.run!.checkpointsURL, keepLast: 3).latest())
        #expect(try SafeTensors.read(latest).metadata["autoprog.step"] == "2")
    }

    @Test func aLearningRateSetByHandSticksAsAScale() throws {
        let t = try makeTrainer(steps: 4)
        var rates: [Float] = []
        t.onStep = { s in
            rates.append(s.learningRate)
            if s.step == 2 { t.optimizer.learningRate = s.learningRate / 10 }
        }
        try t.train()
        let schedule = try CosineSchedule(baseLearningRate: 0.1, totalSteps: 4)
        #expect(rates[0] == schedule.learningRate(at: 0) && rates[1] == schedule.learningRate(at: 1))
        #expect(abs(rates[3] - schedule.learningRate(at: 3) / 10) < 1e-7)
        #expect(abs(t.learningRateScale - 0.1) < 1e-6)
    }

    /// Two micro-batches of 4 with accumulation give the same update as one batch of 8.
    @Test func gradientAccumulationMatchesTheLargerBatch() throws {
        let whole = try makeTrainer(steps: 1, batch: 8)
        try whole.train()
        let accumulated = try makeTrainer(steps: 1, accumulation: 2, batch: 4)
        try accumulated.train()
        let a = whole.model.parameters.flatMap { $0.value.toArray() }
        let b = accumulated.model.parameters.flatMap { $0.value.toArray() }
        #expect(zip(a, b).allSatisfy { abs($0 - $1) < 1e-6 })
    }

    @Test func tooSmallADatasetIsAClearError() {
        #expect { try makeTrainer(batch: 128) } throws: { "\($0)".contains("64 examples make no batch of 128") }
    }

    @Test func resumingFromAWeightsOnlyFileSaysSo() throws {
        let t = try makeTrainer()
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("weights-\(UUID().uuidString).safetensors")
        try SafeTensors.write(t.model.stateDict(), to: url)
        #expect { try t.resume(from: url) } throws: { error in
            "\(error)".contains("not an autoprog training checkpoint") && "\(error)".contains("autoprog.step")
        }
    }

    /// A resumed run's training and wall time continue from the checkpoint's, so the time a study
    /// reports is the whole run's; a malformed value is named.
    @Test func resumingKeepsTheTrainingTimeSoFar() throws {
        let first = try makeTrainer(steps: 6)
        try first.train()
        var saved = first.checkpointState()
        saved.metadata["autoprog.train_seconds"] = "1234.5"
        saved.metadata["autoprog.elapsed_seconds"] = "2000"
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("resume-\(UUID().uuidString).safetensors")
        try SafeTensors.write(saved.tensors, metadata: saved.metadata, to: url)
        let second = try makeTrainer(steps: 8)
        try second.resume(from: url)
        #expect(second.state.trainingSeconds == 1234.5 && second.state.elapsedSeconds == 2000)
        try second.train()
        #expect(second.state.step == 8 && second.state.trainingSeconds > 1234.5 && second.state.elapsedSeconds > 2000)
        let metadata = second.checkpointState().metadata
        #expect(metadata["autoprog.train_seconds"].flatMap(Double.init) == second.state.trainingSeconds)
        #expect(metadata["autoprog.elapsed_seconds"].flatMap(Double.init) == second.state.elapsedSeconds)

        saved.metadata["autoprog.train_seconds"] = "soon"
        try SafeTensors.write(saved.tensors, metadata: saved.metadata, to: url)
        #expect { try makeTrainer(steps: 8).resume(from: url) } throws: { "\($0)".contains("autoprog.train_seconds") }
        saved.metadata["autoprog.train_seconds"] = "1234.5"
        saved.metadata["autoprog.elapsed_seconds"] = "-3"
        try SafeTensors.write(saved.tensors, metadata: saved.metadata, to: url)
        #expect { try makeTrainer(steps: 8).resume(from: url) } throws: { "\($0)".contains("autoprog.elapsed_seconds") }
    }

    @Test func aMalformedLearningRateScaleIsNamedNotReplaced() throws {
        let first = try makeTrainer(steps: 4)
        try first.train()
        var saved = first.checkpointState()
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("resume-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        saved.metadata["autoprog.lr_scale"] = "0.5"
        try SafeTensors.write(saved.tensors, metadata: saved.metadata, to: url)
        let resumed = try makeTrainer(steps: 8)
        try resumed.resume(from: url)
        #expect(resumed.learningRateScale == 0.5)
        for bad in ["half", "nan", "-1"] {
            saved.metadata["autoprog.lr_scale"] = bad
            try SafeTensors.write(saved.tensors, metadata: saved.metadata, to: url)
            #expect { try makeTrainer(steps: 8).resume(from: url) } throws: { "\($0)".contains("autoprog.lr_scale") }
        }
    }
}
