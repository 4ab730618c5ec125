import Foundation
import Testing
@testable import AutoProg

/// 8×8 one-channel images in [0, 1] of 3 classes (class k brighter with k), for a tiny DiT.
final class SyntheticImages: Dataset {
    let count: Int
    let imageShape = [1, 8, 8]
    let classNames = (0..<3).map { "class \($0)" }
    init(count: Int) { self.count = count }
    func load(_ indices: [Int], into images: UnsafeMutablePointer<Float>) throws -> [Int] {
        for (n, i) in indices.enumerated() {
            var s = RandomStream(seed: UInt64(i), purpose: "synthetic images")
            s.fillUniform(images + n * 64, count: 64, low: 0, high: Float(1 + i % 3) / 3)
        }
        return indices.map { $0 % 3 }
    }
}

/// Progressive fine-tuning of a DiT through the real trainer: Prog's stage levels, masks,
/// resolutions and SID; AutoProg-Zero's vote and record; AutoProg-One's search; resume.
@Suite(.serialized) struct FineTuneControllerTests {
    /// A 4-block DiT on 8×8 images, patch 2 (stage sizes 2, 4, 6, 8), with SID; 16 steps
    /// of 8 images, 4 stages of 4 steps.
    func makeTrainer(_ schedule: FineTuneController.Schedule, run: RunDirectory? = nil, sid: Bool = true,
                     space: Double = 0.25, seen: ((Batch) -> Void)? = nil) throws -> (Trainer, FineTuneController) {
        Random.manualSeed(3)
        let model = try DiT(.init(imageSize: 8, patchSize: 2, channels: 1, classes: 3, dimension: 16, depth: 4, heads: 2,
                                  learnSigma: false))
        // A "pretrained" model: adaLN-Zero's zeros would leave the blocks without gradient.
        for p in model.parameters { try p.assign(p.value + Tensor.randn(p.value.shape, std: 0.05)) }
        if sid { try model.enableStageIdentifiers(stages: 4) }
        var c = Trainer.Configuration(model: model, data: SyntheticImages(count: 64), batchSize: 8, steps: 16)
        c.checkpointEverySteps = 1
        c.keepLastCheckpoints = 100
        let t = try Trainer(c, makeOptimizer: { try AdamW(parameters: $0.parameters, learningRate: 1e-3, weightDecay: 0) },
                            schedule: nil, run: run)
        let diffusion = try GaussianDiffusion(.linear, steps: 100)
        t.lossFunction = { m, b in
            seen?(b)
            return try diffusion.trainingLoss(model: m as! DiT, x0: b.images * 2 - 1, labels: b.labels)
        }
        let controller = try FineTuneController(model: model, schedule: schedule, stages: 4,
                                                smallestResolutionRatio: space, diffusion: diffusion)
        controller.ntkSamples = 4
        t.controller = controller
        return (t, controller)
    }

    static func temporaryRun(_ name: String) throws -> RunDirectory {
        try RunDirectory(root: FileManager.default.temporaryDirectory.appendingPathComponent("finetune-\(UUID().uuidString)"), name: name)
    }

    static func blockWeights(_ model: DiT, _ i: Int) -> [Float] { model.blocks[i].parameters.flatMap { $0.value.toArray() } }

    /// Prog: stage k trains at level k of both — size 2(k+1), blocks i mod 4 < k+1 learnable —
    /// with SID row k; blocks frozen in a stage do not change.
    @Test func progRaisesResolutionAndUnfreezesStageByStage() throws {
        var sizes: [Int] = []
        let (t, controller) = try makeTrainer(.prog) { sizes.append($0.images.shape[2]) }
        let model = controller.model
        let initial = (0..<4).map { Self.blockWeights(model, $0) }
        var learnable: [[Bool]] = [], sidStages: [Int?] = []
        t.onStep = { s in
            learnable.append(model.blocks.items.map { $0.parameters.allSatisfy(\.requiresGrad) })
            sidStages.append(model.stage)
            if s.step == 4 {   // end of stage 1: only block 0 trained
                #expect(Self.blockWeights(model, 0) != initial[0])
                for i in 1..<4 { #expect(Self.blockWeights(model, i) == initial[i], "block \(i) was frozen") }
            }
        }
        try t.train()
        #expect(sizes == [2, 4, 6, 8].flatMap { Array(repeating: $0, count: 4) })
        for k in 0..<4 {
            #expect(learnable[4 * k] == (0..<4).map { $0 < k + 1 }, "stage \(k + 1)")
            #expect(sidStages[4 * k] == k)
        }
        #expect(controller.record?.stages.map(\.resolution) == [2, 4, 6, 8])
    }

    /// AutoProg-Zero: each stage's candidates are measured and voted on, the vote recounted
    /// from the recorded T, κ and ZiCo picks the recorded choice, the last stage is the full
    /// model (full size, every block learnable) without a vote.
    @Test func autoProgZeroVotesAndRecordsEveryCandidate() throws {
        let run = try Self.temporaryRun("zero")
        defer { try? FileManager.default.removeItem(at: run.url.deletingLastPathComponent()) }
        let (t, controller) = try makeTrainer(.autoprogZero, run: run)
        try t.train()
        let record = try #require(controller.record)
        #expect(record.stages.count == 4)
        for stage in record.stages.prefix(3) {
            #expect(stage.candidates.count >= 2)
            let (_, winner) = RankVote.count(stage.candidates.map {
                RankVote.Ballot(stepSeconds: $0.stepSeconds, kappa: $0.kappa ?? .infinity, zico: $0.zico ?? -.infinity)
            })
            #expect(stage.candidates[winner].candidate == stage.chosen)
            #expect(stage.candidates.allSatisfy { ($0.kappa ?? 0) >= 1 && $0.zico != nil && $0.stepSeconds > 0 })
        }
        #expect(record.stages[3].resolution == 8 && record.stages[3].fraction == 1 && record.stages[3].candidates.isEmpty)
        #expect(controller.model.blocks.items.allSatisfy { $0.parameters.allSatisfy(\.requiresGrad) })
        let file = try JSONValue.parse(String(contentsOf: run.scheduleURL, encoding: .utf8))
        #expect(try FineTuneRecord(json: file, source: "schedule.json") == record)
        let events = try String(contentsOf: run.metricsURL, encoding: .utf8).split(separator: "\n")
            .compactMap { try JSONValue.parse(String($0))["event"]?.stringValue }
        #expect(events.filter { $0 == "zero_shot_result" }.count == record.stages.filter { !$0.candidates.isEmpty }.count)
    }

    /// A sub-network is timed once a run: a later vote takes its T from the earlier one
    /// (exactly the same number), κ and ZiCo are measured again; `retime` times afresh.
    @Test func votesReuseTheStepTimeOfASubNetworkTimedBefore() throws {
        let (t, controller) = try makeTrainer(.autoprogZero)
        var retimed: [FineTuneRecord.Candidate] = []
        t.onStep = { s in
            if s.step == 15 { retimed = try controller.vote(Array(controller.stepTimes.keys), t, retime: true).0 }
        }
        try t.train()
        let votes = try #require(controller.record).stages.map(\.candidates).filter { !$0.isEmpty }
        #expect(votes.count == 3)
        var first: [FineTuneCandidate: FineTuneRecord.Candidate] = [:], reused = 0
        for vote in votes {
            for c in vote {
                if let earlier = first[c.candidate] {
                    #expect(c.stepSeconds == earlier.stepSeconds, "\(c.candidate) was timed again")
                    reused += 1
                } else {
                    first[c.candidate] = c
                }
            }
        }
        #expect(reused >= 2)
        #expect(!retimed.isEmpty && retimed.allSatisfy { $0.stepSeconds != first[$0.candidate]?.stepSeconds })
    }

    /// Measuring a candidate changes neither the weights, their gradients, the random
    /// streams nor the mask in force.
    @Test func measuringLeavesTheRunAsItWas() throws {
        let (t, controller) = try makeTrainer(.autoprogZero)
        var checked = false
        t.onStep = { s in
            guard s.step == 2 else { return }
            let model = controller.model
            let weights = model.parameters.map { $0.value.toArray() }, mask = model.parameters.map(\.requiresGrad)
            let random = Random.state
            _ = try controller.measure(FineTuneCandidate(resolutionLevel: 3, fractionLevel: 3), t)
            #expect(model.parameters.map { $0.value.toArray() } == weights)
            #expect(model.parameters.map(\.requiresGrad) == mask)
            #expect(model.parameters.allSatisfy { $0.grad.toArray().allSatisfy { $0 == 0 } })
            #expect(Random.state == random)
            checked = true
        }
        try t.train()
        #expect(checked)
    }

    /// AutoProg-One for fine-tuning: the candidates train as a supernet for the search
    /// steps, then the lowest L·T^α trains the rest of the stage.
    @Test func autoProgOneSearchesThenTrainsItsChoice() throws {
        let (t, controller) = try makeTrainer(.autoprogOne)
        controller.searchSteps = 2
        var subNetworks: [String] = []
        t.onStep = { _ in if let s = controller.stepRecord()["sub_network"]?.stringValue { subNetworks.append(s) } }
        try t.train()
        let record = try #require(controller.record)
        // 2 search steps in each stage with a choice (the last may have one: l and l + 1 at full size).
        let searched = record.stages.filter { $0.searchSteps != nil }
        #expect(searched.count >= 3 && subNetworks.count == 2 * searched.count)
        for stage in searched {
            #expect(stage.searchSteps?.count == 2 && stage.candidates.count >= 2)
            let best = stage.candidates.filter { $0.score?.isFinite == true }.min { $0.score! < $1.score! }
            #expect(best?.candidate == stage.chosen)
        }
    }

    /// A run resumed from a checkpoint in stage 2 has its stage, mask, resolution and SID
    /// back and logs the losses of the run that never stopped.
    @Test func resumeInTheSecondStageIsBitIdentical() throws {
        let run = try Self.temporaryRun("whole")
        defer { try? FileManager.default.removeItem(at: run.url.deletingLastPathComponent()) }
        let (whole, _) = try makeTrainer(.prog, run: run)
        var expected: [Float] = []
        whole.onStep = { expected.append($0.loss) }
        try whole.train()
        let (resumed, controller) = try makeTrainer(.prog)
        try resumed.resume(from: run.checkpointsURL.appendingPathComponent("step-6.safetensors"))
        #expect(controller.stage == 1 && controller.model.stage == 1)
        #expect(controller.model.blocks.items.map { $0.parameters.allSatisfy(\.requiresGrad) } == [true, true, false, false])
        var got: [Float] = []
        resumed.onStep = { got.append($0.loss) }
        try resumed.train()
        #expect(got == Array(expected.dropFirst(6)))
        // A run whose stages train at other sizes (s₁ = ½: 4, 6, 8, 8 px) refuses the checkpoint.
        let (other, _) = try makeTrainer(.prog, space: 0.5)
        #expect(throws: TensorError.self) { try other.resume(from: run.checkpointsURL.appendingPathComponent("step-6.safetensors")) }
    }
}
