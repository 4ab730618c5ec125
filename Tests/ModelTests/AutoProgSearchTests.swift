import Foundation
import Testing
@testable import AutoProg

/// AutoProg-One's parts without a trainer: the search spaces Λₖ, the supernet's weight
/// nesting, the α fit and ranking, schedule.json.
@Suite(.serialized) struct AutoProgSearchTests {
    static func subs(_ codes: String) -> [SubNetwork] {
        codes.split(separator: " ").map { SubNetwork(code: $0)! }
    }

    // MARK: Λₖ

    /// vit-micro on 28×28 / patch 4 (grid 7, depth 8), Ω(0.5) of 4 stages: grids
    /// 3.5→4, 4.67→5, 5.83→6, 7; depths 4, 5.33→5, 6.67→7, 8.
    @Test func searchSpacesOfVitMicro() throws {
        let space = try GrowthSpace(stages: 4, smallestRatio: 0.5, fullGrid: 7, fullDepth: 8)
        #expect(space.grids == [4, 5, 6, 7] && space.depths == [4, 5, 7, 8])
        // Λ₁: {smallest, (lower) middle, largest} of each.
        #expect(space.firstSearchSpace() == Self.subs("4x4 4x5 4x8 5x4 5x5 5x8 7x4 7x5 7x8"))
        // After (5, 5): {5, 6} × {5 and the larger 7, 8}.
        #expect(try space.searchSpace(after: SubNetwork(grid: 5, depth: 5)) == Self.subs("5x5 5x7 5x8 6x5 6x7 6x8"))
        // After the smallest: {4, 5} × {4, 5, 7, 8}: 8 candidates.
        #expect(try space.searchSpace(after: SubNetwork(grid: 4, depth: 4)) == Self.subs("4x4 4x5 4x7 4x8 5x4 5x5 5x7 5x8"))
        // At the top only the full model is left.
        #expect(try space.searchSpace(after: SubNetwork(grid: 7, depth: 8)) == Self.subs("7x8"))
        #expect(throws: TensorError.self) { try space.searchSpace(after: SubNetwork(grid: 3, depth: 4)) }
        #expect(space.allSubNetworks.count == 16)
        // Ω(0.4): grids 2.8→3, 4.2→4, 5.6→6, 7; depths 3.2→3, 4.8→5, 6.4→6, 8.
        let narrow = try GrowthSpace(stages: 4, smallestRatio: 0.4, fullGrid: 7, fullDepth: 8)
        #expect(narrow.grids == [3, 4, 6, 7] && narrow.depths == [3, 5, 6, 8])
        #expect(narrow.firstSearchSpace() == Self.subs("3x3 3x5 3x8 4x3 4x5 4x8 7x3 7x5 7x8"))
    }

    /// vit-tiny (depth 12): depths 6, 8, 10, 12.
    @Test func searchSpacesOfVitTiny() throws {
        let space = try GrowthSpace(stages: 4, smallestRatio: 0.5, fullGrid: 7, fullDepth: 12)
        #expect(space.firstSearchSpace() == Self.subs("4x6 4x8 4x12 5x6 5x8 5x12 7x6 7x8 7x12"))
        #expect(try space.searchSpace(after: SubNetwork(grid: 4, depth: 6)) == Self.subs("4x6 4x8 4x10 4x12 5x6 5x8 5x10 5x12"))
        #expect(try space.searchSpace(after: SubNetwork(grid: 6, depth: 10)) == Self.subs("6x10 6x12 7x10 7x12"))
    }

    @Test func invalidSpacesAndStageCountsAreRejected() throws {
        #expect(throws: TensorError.self) { try GrowthSpace(stages: 0, smallestRatio: 0.5, fullGrid: 7, fullDepth: 8) }
        #expect(throws: TensorError.self) { try GrowthSpace(stages: 4, smallestRatio: 1.5, fullGrid: 7, fullDepth: 8) }
        #expect(throws: TensorError.self) { try GrowthSpace(stages: 4, smallestRatio: 0.5, fullGrid: 0, fullDepth: 8) }
        let model = try Self.vit(depth: 6)
        let one = try GrowthSpace(stages: 1, smallestRatio: 0.5, fullGrid: 4, fullDepth: 6)
        do {
            _ = try AutoProgController(model: model, space: one)
            Issue.record("one stage was accepted")
        } catch let e as TensorError {
            #expect(e.message.contains("at least 2 stages"), "\(e)")
        }
        let wrong = try GrowthSpace(stages: 4, smallestRatio: 0.5, fullGrid: 7, fullDepth: 8)
        #expect(throws: TensorError.self) { try AutoProgController(model: model, space: wrong) }
        let space = try GrowthSpace(stages: 4, smallestRatio: 0.5, fullGrid: 4, fullDepth: 6)
        #expect(throws: TensorError.self) { try AutoProgController(model: model, space: space, operator: .stacking) }
        #expect(throws: TensorError.self) { try AutoProgController(model: model, space: space, alpha: -1) }
    }

    // MARK: Supernet

    static func vit(depth: Int) throws -> VisionTransformer {
        Random.manualSeed(4)
        return try VisionTransformer(.init(imageSize: 8, patchSize: 2, channels: 1, classes: 3, dimension: 8, depth: depth, heads: 2))
    }

    /// 4 → 6 by Interpolation: [0, 1, 2, 2, 3, 3]; the copies are blocks 3 and 5, switched
    /// on from the output end: depth 5 runs [0, 1, 2, 4, 5].
    @Test func optionalBlocksSwitchOnFromTheOutputEnd() throws {
        let model = try Self.vit(depth: 6)
        let s = try Supernet(model: model, baseDepth: 4, candidates: Self.subs("2x4 4x5 4x6"))
        #expect(s.optionalBlocks == [5, 3])
        #expect(try s.blocks(depth: 4) == [0, 1, 2, 4])
        #expect(try s.blocks(depth: 5) == [0, 1, 2, 4, 5])
        #expect(try s.blocks(depth: 6) == [0, 1, 2, 3, 4, 5])
        #expect(throws: TensorError.self) { try s.blocks(depth: 3) }
        // 2 → 6: [0, 0, 0, 1, 1, 1]; copies 5, 4, 2, 1 in that order.
        let wide = try Supernet(model: model, baseDepth: 2, candidates: Self.subs("4x2 4x6"))
        #expect(try (2...6).map { try wide.blocks(depth: $0) } == [[0, 3], [0, 3, 5], [0, 3, 4, 5], [0, 2, 3, 4, 5], [0, 1, 2, 3, 4, 5]])
        // Running a sub-network: its blocks and grid, only its blocks learnable.
        try s.activate(SubNetwork(grid: 2, depth: 4))
        #expect(model.activeBlocks == [0, 1, 2, 4] && model.activeGrid == 2)
        #expect(model.blocks.items.map { $0.parameters.allSatisfy(\.requiresGrad) } == [true, true, true, false, true, false])
        try s.activate(SubNetwork(grid: 4, depth: 6))
        #expect(model.activeBlocks == nil && model.activeGrid == nil)
    }

    /// Growth copies each block next to itself; an extracted candidate's tensors are exactly
    /// the supernet's (blocks renumbered), and it computes what the supernet computes when
    /// running that candidate.
    @Test func candidateWeightsAreASubsetOfTheSupernets() throws {
        let model = try Self.vit(depth: 6)
        let before = model.stateDict().mapValues { $0.clone() }
        let s = try Supernet(model: model, baseDepth: 4, candidates: Self.subs("2x4 4x5 4x6"))
        try s.grow()
        let grown = model.stateDict()
        for (i, source) in [0, 1, 2, 2, 3, 3].enumerated() {
            #expect(grown["blocks.\(i).mlp.fc1.weight"]!.toArray() == before["blocks.\(source).mlp.fc1.weight"]!.toArray())
        }
        #expect(grown["pos_embed"]!.toArray() == before["pos_embed"]!.toArray())

        let candidate = SubNetwork(grid: 2, depth: 5)
        let sub = try s.extract(candidate)
        #expect(sub.configuration.depth == 5 && sub.activeGrid == 2)
        let supernetState = model.stateDict()
        let active = [0, 1, 2, 4, 5]
        for (name, tensor) in sub.stateDict() {
            var source = name
            if name.hasPrefix("blocks.") {
                let rest = name.dropFirst(7)
                let i = Int(rest.prefix { $0 != "." })!
                source = "blocks.\(active[i])" + rest.drop { $0 != "." }
            }
            let original = try #require(supernetState[source], "\(name) has no counterpart \(source)")
            #expect(tensor.toArray() == original.toArray(), "\(name) differs from \(source)")
        }
        #expect(sub.stateDict().count == supernetState.filter { !$0.key.hasPrefix("blocks.3.") }.count)

        let x = Tensor.randn([2, 1, 8, 8])
        model.eval(); sub.eval()
        try s.activate(candidate)
        let expected = try Autograd.withoutGradients { try model(x) }
        let got = try Autograd.withoutGradients { try sub(x) }
        #expect(got.toArray() == expected.toArray())
    }

    // MARK: α and the choice

    /// Points on L = c·T^b: the fit returns b and log c exactly.
    @Test func alphaFitRecoversThePowerLaw() throws {
        let times = [0.01, 0.02, 0.05, 0.1, 0.3]
        let candidates = times.enumerated().map { i, t in
            MeasuredCandidate(subNetwork: SubNetwork(grid: i + 1, depth: 1), loss: 0.7 * pow(t, -0.3), stepSeconds: t)
        }
        let fit = try #require(CandidateRanking.fit(candidates))
        #expect(abs(fit.b - -0.3) < 1e-12 && abs(fit.a - log(0.7)) < 1e-12)
        #expect(abs(CandidateRanking.alpha(candidates) - 0.3) < 1e-12)
        // A loss rising with time gives b > 0: α = 0.
        let rising = times.map { MeasuredCandidate(subNetwork: SubNetwork(grid: 1, depth: 1), loss: 2 * pow($0, 0.5), stepSeconds: $0) }
        #expect(abs(CandidateRanking.fit(rising)!.b - 0.5) < 1e-12 && CandidateRanking.alpha(rising) == 0)
        // NaN losses are left out of the fit; fewer than two points or equal times: nothing to fit.
        var withNaN = candidates
        withNaN[2].loss = .nan
        #expect(abs(CandidateRanking.fit(withNaN)!.b - -0.3) < 1e-12)
        #expect(CandidateRanking.fit(Array(candidates.prefix(1))) == nil)
        #expect(CandidateRanking.fit(candidates.map { var c = $0; c.stepSeconds = 0.1; return c }) == nil)
    }

    @Test func argminOfScoreWithNaNRankingLast() throws {
        func c(_ loss: Double, _ t: Double) -> MeasuredCandidate {
            MeasuredCandidate(subNetwork: SubNetwork(grid: 1, depth: 1), loss: loss, stepSeconds: t)
        }
        let list = [c(.nan, 0.001), c(2.0, 0.5), c(1.5, 2.0), c(.infinity, 0.001), c(1.9, 0.25)]
        // α = 0: lowest loss wins (1.5); NaN/Inf get no score.
        let plain = CandidateRanking.scored(list, alpha: 0)
        #expect(CandidateRanking.best(plain) == 2)
        #expect(plain[0].score == nil && plain[3].score == nil)
        // α = 1: L·T = [-, 1.0, 3.0, -, 0.475] → the last.
        let timed = CandidateRanking.scored(list, alpha: 1)
        #expect(timed[1].score == 1.0 && timed[2].score == 3.0 && abs(timed[4].score! - 0.475) < 1e-15)
        #expect(CandidateRanking.best(timed) == 4)
        #expect(CandidateRanking.best(CandidateRanking.scored([c(.nan, 1), c(-.infinity, 1)], alpha: 0.5)) == nil)
        // Ties go to the earlier (smaller) candidate.
        #expect(CandidateRanking.best(CandidateRanking.scored([c(1, 1), c(1, 1)], alpha: 0.3)) == 0)
    }

    // MARK: schedule.json

    static func record() -> ScheduleRecord {
        var r = ScheduleRecord(schedule: "autoprog", space: 0.5, stageCount: 4, growthOperator: "mogrow", recycle: true,
                               fixedAlpha: nil, model: SubNetwork(grid: 7, depth: 8), totalSteps: 100)
        for (k, chosen) in subs("5x5 6x7 6x8 7x8").enumerated() {
            var s = ScheduleRecord.Stage(index: k, steps: (25 * k)..<(25 * k + 25), searchSteps: k < 3 ? (25 * k)..<(25 * k + 4) : nil)
            if k < 3 {
                s.candidates = [MeasuredCandidate(subNetwork: SubNetwork(grid: 4, depth: 4), loss: 1.25, stepSeconds: 0.0125, score: 0.3),
                                MeasuredCandidate(subNetwork: chosen, loss: 1.0 / 3, stepSeconds: 0.02, score: 0.1)]
                s.alpha = 0.31
                s.fit = (0.5, -0.31)
                s.measureSeconds = 1.5
                s.forced = k == 1
            }
            s.chosen = chosen
            r.stages.append(s)
        }
        return r
    }

    @Test func scheduleRoundTripsThroughItsFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("schedule-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("schedule.json")
        let r = Self.record()
        try r.write(to: url)
        #expect(try ScheduleRecord.read(url) == r)
        // A NaN loss is written as null and read back as NaN.
        var diverged = r
        diverged.stages[0].candidates[0].loss = .nan
        diverged.stages[0].candidates[0].score = nil
        try diverged.write(to: url)
        let text = try String(contentsOf: url, encoding: .utf8)
        #expect(text.contains("\"loss\": null") && text.contains("\"score\": null"))
        #expect(try ScheduleRecord.read(url).stages[0].candidates[0].loss.isNaN)
    }

    @Test func replayTakesTheChoicesAndRejectsWhatDoesNotFit() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("replay-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let micro = VisionTransformer.Configuration(imageSize: 28, patchSize: 4, channels: 1, classes: 10, dimension: 16, depth: 8, heads: 2)
        let stages = try Self.record().replayStages(for: micro, source: "s.json")
        #expect(stages == [ProgressiveStage(grid: 5, depth: 5, fraction: 0.25), ProgressiveStage(grid: 6, depth: 7, fraction: 0.25),
                           ProgressiveStage(grid: 6, depth: 8, fraction: 0.25), ProgressiveStage(grid: 7, depth: 8, fraction: 0.25)])

        func message(_ body: () throws -> Void) -> String {
            do { try body(); return "" } catch { return "\(error)" }
        }
        var shallow = micro
        shallow.depth = 6
        let misfit = message { _ = try Self.record().replayStages(for: shallow, source: "/runs/x/schedule.json") }
        #expect(misfit.contains("/runs/x/schedule.json") && misfit.contains("does not fit"), "\(misfit)")
        var unfinished = Self.record()
        unfinished.stages[2].chosen = nil
        let incomplete = message { _ = try unfinished.replayStages(for: micro, source: "s.json") }
        #expect(incomplete.contains("stage 3 has no chosen"), "\(incomplete)")

        let corrupt = dir.appendingPathComponent("corrupt.json")
        try Data("{\"schedule\": \"autoprog\", ".utf8).write(to: corrupt)
        let bad = message { _ = try ScheduleRecord.read(corrupt) }
        #expect(bad.contains(corrupt.path) && bad.contains("invalid JSON"), "\(bad)")
        let missing = message { _ = try ScheduleRecord.read(dir.appendingPathComponent("none.json")) }
        #expect(missing.contains("none.json"), "\(missing)")
    }
}
