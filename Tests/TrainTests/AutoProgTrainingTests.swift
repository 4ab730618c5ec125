import Foundation
import Testing
@testable import AutoProg

/// AutoProg-One through the real trainer: the search, weight recycling (on and off), a
/// forced choice, schedule.json and its replay, the supernet-only baseline, resume.
@Suite(.serialized) struct AutoProgTrainingTests {
    /// A ViT on the 4×4 synthetic images (patch 1: grid 4, depth 4); Ω(0.5) of 2 stages has
    /// grids {2, 4} and depths {2, 4}, so Λ₁ = {2, 4} × {2, 4}. 16 steps of 8 images (8 per
    /// epoch): stage 1 is steps 0..<8, its supernet trains steps 0, 1, 2 and the choice
    /// is made before step 3; stage 2 (the full model) starts at step 8.
    func makeTrainer(run: RunDirectory? = nil, mode: AutoProgController.Mode = .search, alpha: Double? = nil,
                     checkpointEvery: Int? = nil, steps: Int = 16, emaWarmup: Bool = true) throws -> (Trainer, AutoProgController) {
        Random.manualSeed(11)
        let model = try VisionTransformer(.init(imageSize: 4, patchSize: 1, channels: 1, classes: 3, dimension: 8,
                                                depth: 4, heads: 2, dropPath: 0.1))
        var c = Trainer.Configuration(model: model, data: SyntheticDataset(count: 64), evalData: SyntheticDataset(count: 16),
                                      batchSize: 8, steps: steps)
        c.emaDecays = [0.9]
        c.emaWarmup = emaWarmup ? EMA.Warmup() : nil
        c.evalEverySteps = 100
        c.checkpointEverySteps = checkpointEvery ?? 100
        c.keepLastCheckpoints = 100
        c.augmentation = Compose([RandomHorizontalFlip(probability: 0.5)])
        let t = try Trainer(c, makeOptimizer: { try AdamW(parameters: $0.parameters, learningRate: 3e-3) },
                            schedule: try CosineSchedule(baseLearningRate: 3e-3, totalSteps: steps), run: run)
        let space = try GrowthSpace(stages: 2, smallestRatio: 0.5, fullGrid: 4, fullDepth: 4)
        let controller = try AutoProgController(model: model, space: space, mode: mode, alpha: alpha)
        controller.searchLength = .steps(3)
        controller.searchImages = 24
        t.controller = controller
        return (t, controller)
    }

    static func temporaryRun(_ name: String) throws -> RunDirectory {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("autoprog-\(UUID().uuidString)")
        return try RunDirectory(root: root, name: name)
    }

    static func records(_ run: RunDirectory) throws -> [JSONValue] {
        try String(contentsOf: run.metricsURL, encoding: .utf8).split(separator: "\n").map { try JSONValue.parse(String($0)) }
    }

    /// Blocks a sub-network of `depth` runs in the 2 → 4 supernet ([0, 0, 1, 1]: copies 1
    /// and 3, the output end's first).
    static func supernetBlocks(depth: Int) -> [Int] { depth == 2 ? [0, 2] : [0, 1, 2, 3] }

    static func clone(_ d: StateDict) -> [String: [Float]] {
        Dictionary(uniqueKeysWithValues: d.map { ($0.key, $0.value.toArray()) })
    }

    /// After the search the chosen blocks keep their supernet weights, in the online model
    /// and the momentum copy; the search is in metrics.jsonl and schedule.json.
    @Test func searchChoosesAndRecyclesTheSupernetWeights() throws {
        let run = try Self.temporaryRun("autoprog")
        defer { try? FileManager.default.removeItem(at: run.url.deletingLastPathComponent()) }
        let (t, controller) = try makeTrainer(run: run)
        let model = controller.model
        var online: [String: [Float]] = [:], momentum: [String: [Float]] = [:]
        var checked = false
        t.onStep = { s in
            guard s.step == 3 else { return }
            online = Self.clone(model.stateDict())
            momentum = Self.clone(try t.ema!.weights(decayIndex: 0))
        }
        t.onStage = { s in
            guard s.step == 3 else { return }
            #expect(controller.supernet == nil)
            let chosen = controller.prog.stages[0]
            let active = Self.supernetBlocks(depth: chosen.depth)
            let now = Self.clone(model.stateDict()), ema = Self.clone(try t.ema!.weights(decayIndex: 0))
            for (name, value) in now {
                var source = name
                if name.hasPrefix("blocks.") {
                    let i = Int(name.dropFirst(7).prefix { $0 != "." })!
                    guard i < chosen.depth else { continue }
                    source = "blocks.\(active[i])" + name.dropFirst(7).drop { $0 != "." }
                }
                #expect(value == online[source], "\(name) is not the supernet's \(source)")
                #expect(ema[name] == momentum[source], "momentum \(name) is not the supernet's \(source)")
            }
            #expect(model.activeBlocks == (chosen.depth == 4 ? nil : Array(0..<chosen.depth)))
            #expect(model.activeGrid == (chosen.grid == 4 ? nil : chosen.grid))
            checked = true
        }
        try t.train()
        #expect(checked)

        let records = try Self.records(run)
        let subNetworks = records.filter { $0["loss"] != nil }.map { $0["sub_network"]?.stringValue }
        #expect(subNetworks.prefix(3).allSatisfy { ["2x2", "2x4", "4x2", "4x4"].contains($0 ?? "") }, "\(subNetworks)")
        #expect(subNetworks.dropFirst(3).allSatisfy { $0 == nil })
        #expect(records.filter { $0["event"]?.stringValue == "search_candidate" }.count == 4)
        let result = try #require(records.first { $0["event"]?.stringValue == "search_result" })
        #expect(result["step"]?.intValue == 3 && (result["measure_seconds"]?.doubleValue ?? -1) >= 0)
        let starts = records.filter { $0["event"]?.stringValue == "stage_start" }
        #expect(starts.map { $0["step"]?.intValue } == [0, 3, 8])
        #expect(starts[0]["search"]?.boolValue == true && starts[2]["grid"]?.intValue == 4 && starts[2]["depth"]?.intValue == 4)

        let schedule = try ScheduleRecord.read(run.scheduleURL)
        #expect(schedule.stages.map(\.steps) == [0..<8, 8..<16] && schedule.stages[0].searchSteps == 0..<3)
        let first = schedule.stages[0]
        #expect(first.candidates.map(\.subNetwork.code) == ["2x2", "2x4", "4x2", "4x4"])
        #expect(first.candidates.allSatisfy { $0.loss.isFinite && $0.stepSeconds > 0 && $0.score != nil })
        // The choice is the argmin of L·T^α with the recorded α.
        let scores = first.candidates.map { $0.loss * pow($0.stepSeconds, first.alpha!) }
        #expect(first.chosen == first.candidates[scores.firstIndex(of: scores.min()!)!].subNetwork)
        #expect(first.chosen == SubNetwork(grid: controller.prog.stages[0].grid, depth: controller.prog.stages[0].depth))
        #expect(schedule.stages[1].chosen == SubNetwork(grid: 4, depth: 4))
    }

    /// Without recycling, the chosen sub-network is grown again from the weights before the
    /// search: at step 0 those are the initial ones (the momentum copy equals them).
    @Test func withoutRecyclingTheChoiceIsGrownFromThePreSearchWeights() throws {
        let (t, controller) = try makeTrainer()
        controller.recycles = false
        let model = controller.model
        let initial = Self.clone(model.stateDict())
        var checked = false
        t.onStage = { s in
            guard s.step == 3 else { return }
            let depth = controller.prog.stages[0].depth
            let mapping = depth == 2 ? [0, 1] : [0, 0, 1, 1]
            for (name, value) in Self.clone(model.stateDict()) {
                var source = name
                if name.hasPrefix("blocks.") {
                    let i = Int(name.dropFirst(7).prefix { $0 != "." })!
                    guard i < depth else { continue }
                    source = "blocks.\(mapping[i])" + name.dropFirst(7).drop { $0 != "." }
                }
                #expect(value == initial[source], "\(name) is not the initial \(source)")
            }
            checked = true
        }
        try t.train()
        #expect(checked)
    }

    /// A choice forced during the search wins whatever the scores; α can be fixed; a
    /// sub-network outside Λ cannot be forced.
    @Test func aForcedChoiceWins() throws {
        let run = try Self.temporaryRun("forced")
        defer { try? FileManager.default.removeItem(at: run.url.deletingLastPathComponent()) }
        let (t, controller) = try makeTrainer(run: run, alpha: 0)
        t.onStep = { s in
            guard s.step == 1 else { return }
            #expect(throws: TensorError.self) { try controller.force(SubNetwork(grid: 3, depth: 2)) }
            try controller.force(SubNetwork(grid: 4, depth: 2))
            try controller.setAlpha(0.25)
        }
        try t.train()
        let first = try ScheduleRecord.read(run.scheduleURL).stages[0]
        #expect(first.chosen == SubNetwork(grid: 4, depth: 2) && first.forced && first.alpha == 0.25)
        #expect(throws: TensorError.self) { try controller.force(SubNetwork(grid: 4, depth: 2)) }  // no search now
    }

    /// L is measured on the supernet's own average, begun (and warmed up) with the search —
    /// not the run's, which would still mostly hold the weights from before it, here a
    /// constant 0.9 from step 0 — and dropped after the choice.
    @Test func lossIsMeasuredOnTheSupernetsOwnAverage() throws {
        let (t, controller) = try makeTrainer(emaWarmup: false)
        let data = SyntheticDataset(count: 64), indices = (0..<24).map { $0 * 64 / 24 }
        var expected: [SubNetwork: Double] = [:], runAverage: [SubNetwork: Double] = [:]
        t.onStep = { s in
            guard s.step == 3, let supernet = controller.supernet, let average = controller.searchAverage else { return }
            #expect(average.updateCount == 3)  // the search's three steps, not the run's
            for c in supernet.candidates {
                expected[c] = try supernet.evaluate(c, on: data, indices: indices, batchSize: 8, ema: average).loss
                runAverage[c] = try supernet.evaluate(c, on: data, indices: indices, batchSize: 8, ema: t.ema).loss
            }
        }
        var checked = false
        t.onStage = { s in
            guard s.step == 3 else { return }
            #expect(controller.searchAverage == nil)
            #expect(expected.count == 4 && controller.measured.count == 4)
            for (c, m) in controller.measured {
                #expect(m.loss == expected[c], "\(c): measured \(m.loss), its supernet average gives \(expected[c] ?? .nan)")
                #expect(m.loss != runAverage[c])
            }
            checked = true
        }
        try t.train()
        #expect(checked)
    }

    /// A search long enough for every candidate to train a few steps takes each T from the
    /// candidate's own training steps (median, first left out); a short one times passes.
    @Test func stepTimesComeFromTheCandidatesOwnTrainingSteps() throws {
        let run = try Self.temporaryRun("timing")
        defer { try? FileManager.default.removeItem(at: run.url.deletingLastPathComponent()) }
        let (t, controller) = try makeTrainer(run: run, steps: 96)
        controller.searchLength = .steps(44)
        var observed: [String: [Double]] = [:]
        t.onStep = { s in
            guard s.step <= 44, let code = controller.stepRecord()["sub_network"]?.stringValue else { return }
            observed[code, default: []].append(s.stepSeconds)
        }
        try t.train()
        #expect(observed.count == 4 && observed.values.allSatisfy { $0.count >= AutoProgController.observedStepsNeeded })
        let stage = try ScheduleRecord.read(run.scheduleURL).stages[0]
        #expect(stage.candidates.count == 4)
        for c in stage.candidates {
            let steady = observed[c.subNetwork.code]!.dropFirst().sorted()
            #expect(c.stepSeconds == steady[steady.count / 2], "T of \(c.subNetwork)")
        }
        let timing = try Self.records(run).compactMap { $0["timing"]?.stringValue }
        #expect(timing == ["training_steps"])

        let short = try Self.temporaryRun("short")
        defer { try? FileManager.default.removeItem(at: short.url.deletingLastPathComponent()) }
        try makeTrainer(run: short).0.train()   // 3 search steps: too few for 4 candidates
        #expect(try Self.records(short).compactMap { $0["timing"]?.stringValue } == ["timed_passes"])
    }

    /// The supernet-only baseline samples the whole growth space every step and ends as the
    /// full model, which is what is evaluated.
    @Test func supernetOnlySamplesEveryStepAndEvaluatesTheFullModel() throws {
        let run = try Self.temporaryRun("supernet")
        defer { try? FileManager.default.removeItem(at: run.url.deletingLastPathComponent()) }
        let (t, controller) = try makeTrainer(run: run, mode: .supernet)
        try t.train()
        let subNetworks = try Self.records(run).filter { $0["loss"] != nil }.compactMap { $0["sub_network"]?.stringValue }
        #expect(subNetworks.count == 16 && Set(subNetworks).isSubset(of: ["2x2", "2x4", "4x2", "4x4"]))
        #expect(Set(subNetworks).count > 1)
        #expect(controller.model.activeBlocks == nil && controller.model.activeGrid == nil)
        #expect(try ScheduleRecord.read(run.scheduleURL).schedule == "supernet")
    }

    /// Replaying a recorded schedule trains its choices as a manual Prog schedule with the
    /// recorded stage boundaries; two replays log identical losses.
    @Test func replayIsDeterministicAndFollowsTheRecord() throws {
        let run = try Self.temporaryRun("search")
        defer { try? FileManager.default.removeItem(at: run.url.deletingLastPathComponent()) }
        let (t, _) = try makeTrainer(run: run)
        try t.train()
        let record = try ScheduleRecord.read(run.scheduleURL)
        func replay() throws -> (losses: [Float], stages: [String?]) {
            let (t, controller) = try makeTrainer()
            let stages = try record.replayStages(for: controller.model.configuration, source: run.scheduleURL.path)
            let prog = try ProgController(model: controller.model, stages: stages, operator: .moGrow)
            t.controller = prog
            var losses: [Float] = [], seen: [String?] = []
            t.onStep = { losses.append($0.loss); seen.append($0.stage) }
            try t.train()
            return (losses, seen)
        }
        let a = try replay(), b = try replay()
        #expect(a.losses == b.losses && a.losses.count == 16)
        let chosen = record.stages[0].chosen!
        #expect(a.stages[0] == "1/2 grid \(chosen.grid) depth \(chosen.depth)" && a.stages[7] == a.stages[0])
        #expect(a.stages[8] == "2/2 grid 4 depth 4")
    }

    /// A run resumed from a checkpoint in the middle of a search (sampling stream, supernet,
    /// stage in the checkpoint) logs the losses of the run that never stopped (α fixed, so
    /// the choice does not depend on the measured times).
    @Test func resumeInTheMiddleOfTheSearchIsBitIdentical() throws {
        let run = try Self.temporaryRun("whole")
        defer { try? FileManager.default.removeItem(at: run.url.deletingLastPathComponent()) }
        let (whole, _) = try makeTrainer(run: run, alpha: 0, checkpointEvery: 1)
        var expected: [Float] = []
        whole.onStep = { expected.append($0.loss) }
        try whole.train()
        let (resumed, controller) = try makeTrainer(alpha: 0)
        try resumed.resume(from: run.checkpointsURL.appendingPathComponent("step-2.safetensors"))
        #expect(controller.supernet != nil && controller.searchEnd == 3)
        var got: [Float] = []
        resumed.onStep = { got.append($0.loss) }
        try resumed.train()
        #expect(got == Array(expected.dropFirst(2)))
        #expect(controller.record?.stages[0].chosen == (try ScheduleRecord.read(run.scheduleURL)).stages[0].chosen)
    }
}
