import Foundation
import Testing
@testable import AutoProg

/// Prog through the real trainer: adaptive regularisation per stage, the stage records
/// in metrics.jsonl, evaluation right after growth, full-size evaluation.
@Suite(.serialized) struct ProgressiveTrainingTests {
    /// A ViT on the 4×4 synthetic images (patch 1: grid 4, depth 4), growing 2×2/depth 2 →
    /// 4×4/depth 4 halfway through 16 steps.
    func makeTrainer(run: RunDirectory?, regularisation: AdaptiveRegularisation?) throws -> (Trainer, ProgController) {
        Random.manualSeed(9)
        let model = try VisionTransformer(.init(imageSize: 4, patchSize: 1, channels: 1, classes: 3, dimension: 8,
                                                depth: 4, heads: 2, dropPath: 0.2))
        var c = Trainer.Configuration(model: model, data: SyntheticDataset(count: 64), evalData: SyntheticDataset(count: 16),
                                      batchSize: 8, steps: 16)
        c.augmentation = Compose([RandomHorizontalFlip(probability: 0.5), RandAugmentLite(magnitude: 8),
                                  RandomErasing(probability: 0.4)])
        c.emaDecays = [0.99]
        c.emaWarmup = EMA.Warmup()
        c.evaluateAtStageStart = true
        c.evalEverySteps = 100
        let t = try Trainer(c, makeOptimizer: { try AdamW(parameters: $0.parameters, learningRate: 1e-3) }, run: run)
        let controller = try ProgController(model: model, stages: [.init(grid: 2, depth: 2, fraction: 1), .init(grid: 4, depth: 4, fraction: 1)],
                                            operator: .moGrow)
        controller.regularisation = regularisation
        t.controller = controller
        return (t, controller)
    }

    static func strengths(_ t: Trainer) throws -> (magnitude: Float, erase: Float) {
        let parts = try #require(t.augmentation as? Compose).transforms
        let ra = try #require(parts.compactMap { $0 as? RandAugmentLite }.first)
        let erase = try #require(parts.compactMap { $0 as? RandomErasing }.first)
        #expect(parts.first is RandomHorizontalFlip)
        return (ra.magnitude, erase.probability)
    }

    @Test func regularisationRisesLinearlyOverStages() throws {
        #expect(try AdaptiveRegularisation(start: 0.25).fraction(stage: 0, of: 4) == 0.25)
        #expect(try AdaptiveRegularisation(start: 0.25).fraction(stage: 2, of: 4) == 0.75)
        #expect(try AdaptiveRegularisation(start: 0.25).fraction(stage: 3, of: 4) == 1)
        #expect(throws: TensorError.self) { try AdaptiveRegularisation(start: 1.5) }

        let (t, controller) = try makeTrainer(run: nil, regularisation: try AdaptiveRegularisation(start: 0.5))
        var seen: [(Float, Float, Float)] = []
        t.onStep = { _ in
            let s = try Self.strengths(t)
            seen.append((s.magnitude, s.erase, controller.model.blocks[3].dropPath))
        }
        try t.train()
        // Stage 1 at half strength (drop path of the last block: 0.2 × 0.5), stage 2 full.
        #expect(seen.first! == (4, 0.2, 0.1))
        #expect(seen.last! == (8, 0.4, 0.2))
    }

    @Test func withoutRegularisationTheRecipeStrengthHolds() throws {
        let (t, controller) = try makeTrainer(run: nil, regularisation: nil)
        try t.train()
        let s = try Self.strengths(t)
        #expect(s.magnitude == 8 && s.erase == 0.4 && controller.model.blocks[3].dropPath == 0.2)
    }

    @Test func stagesAreRecordedWithFlopsStepTimeAndEvaluationAfterGrowth() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("prog-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let run = try RunDirectory(root: root, name: "prog")
        let (t, _) = try makeTrainer(run: run, regularisation: try AdaptiveRegularisation())
        try t.train()
        let records = try String(contentsOf: run.metricsURL, encoding: .utf8).split(separator: "\n")
            .map { try JSONValue.parse(String($0)) }
        let starts = records.filter { $0["event"]?.stringValue == "stage_start" }
        #expect(starts.map { $0["step"]?.intValue } == [0, 8])
        #expect(starts.map { $0["grid"]?.intValue } == [2, 4] && starts.map { $0["depth"]?.intValue } == [2, 4])
        let flops = starts.compactMap { $0["gflops_per_image"]?.doubleValue }
        #expect(flops.count == 2 && flops[0] < flops[1])
        // Each stage of 8 steps: 3 warm-up steps, then the median of the rest.
        let times = records.filter { $0["event"]?.stringValue == "stage_step_time" }
        #expect(times.count == 2 && times.allSatisfy { ($0["stage_step_ms"]?.doubleValue ?? 0) > 0 })
        // Evaluated right after the growth at step 8 (before stage 2 trains) and at the end.
        let evals = records.filter { $0["eval_top1"] != nil }
        #expect(evals.map { $0["step"]?.intValue } == [8, 16])
        #expect(evals[0]["stage"]?.stringValue == "2/2 grid 4 depth 4")
        // Every step line carries its stage.
        let steps = records.filter { $0["loss"] != nil }
        #expect(steps.count == 16 && steps.allSatisfy { $0["stage"] != nil })
    }

    /// Evaluation runs at full size whatever the stage's grid, or at a given larger size;
    /// the stage's grid is back afterwards.
    @Test func evaluationRunsAtFullOrLargerSize() throws {
        let (t, controller) = try makeTrainer(run: nil, regularisation: nil)
        t.onStep = { s in
            guard s.step == 4 else { return }
            #expect(controller.model.activeGrid == 2)
            let data = SyntheticDataset(count: 6)
            let full = try t.evaluate(data)
            let model = controller.model
            let expected = try Autograd.withoutGradients { () throws -> Tensor in
                model.eval(); defer { model.train() }
                return try model.forward(try data.batch(Array(0..<6)).images, patchGrid: nil)
            }
            let labels = try data.batch(Array(0..<6)).labels
            let expectedLoss = Double(try crossEntropy(expected, targets: labels).item())
            #expect(abs(full.loss - expectedLoss) < 1e-5)
            let larger = try t.evaluate(data, imageSize: 6)
            #expect(larger.count == 6 && larger.loss.isFinite && abs(larger.loss - full.loss) > 1e-7)
            #expect(controller.model.activeGrid == 2)
        }
        try t.train()
    }
}
