import Foundation
import OrderedCollections

/// AutoProg-One (§3.2, DESIGN §5): progressive pre-training whose sub-network per stage is
/// searched, built on Prog's stages (`ProgController`: equal step shares, growth, freezing,
/// regularisation and step timing are its).
///
/// At the start of each stage but the last: Λₖ is built (`GrowthSpace.searchSpace`); the
/// current sub-network grows by the growth operator (MoGrow by default) into the elastic
/// supernet of Λₖ's largest depth (`Supernet`); the supernet trains for the search steps —
/// steps of the run, on the global learning-rate schedule — running one candidate per step,
/// drawn uniformly from a seeded stream; then every candidate's loss L (fixed training
/// images, no augmentation, the supernet's moving average, eval mode) and steady-state
/// step time T are measured — T is the median of the candidate's own supernet training steps (each
/// candidate's first left out as warm-up), which costs nothing extra; when the search is too
/// short to give every candidate `observedStepsNeeded` steps, every candidate is timed by
/// passes that do not change the weights instead, so the T's are always alike —
/// log L = a + b·log T is fitted, α = max(−b, 0) (or the recipe's fixed α), and the
/// candidate with the lowest L·T^α (NaN/Inf ranks last) trains the rest of the stage.
/// With weight recycling it keeps its supernet weights, momentum copies included; without,
/// it is grown again from the weights before the search. The optimizer is reset; the
/// learning-rate schedule continues. The last stage trains the full model.
///
/// `mode = .supernet` is the supernet-only baseline (Table 20): the whole run trains the
/// supernet of the full growth space, sampling uniformly, and the full model is evaluated.
///
/// Everything is recorded in `schedule.json`; the controller's state (stage, choices,
/// search progress, sampling stream, weights before the search) is in every checkpoint.
public final class AutoProgController: ProgressiveController {
    public enum Mode: String, Sendable {
        case search = "autoprog"
        case supernet
    }

    /// How long each stage's supernet trains.
    public enum SearchLength: Equatable, Sendable {
        case epochs(Double)
        case steps(Int)
    }

    public let mode: Mode
    public let space: GrowthSpace
    public let prog: ProgController
    public var model: VisionTransformer { prog.model }
    public var searchLength = SearchLength.epochs(2)
    /// Weight recycling: the chosen sub-network inherits the supernet's weights.
    public var recycles = true
    /// Fixed α, or nil to fit it at each search. Can change between steps (REPL).
    public private(set) var alpha: Double?
    /// L is measured on this many training images, evenly spaced through the set.
    public var searchImages = 512
    /// Untimed and timed passes per candidate for T when the search is too short to time
    /// the candidates' own training steps.
    public var timingWarmup = 2
    public var timingSteps = 3
    /// Training steps of each candidate needed to take T from them (the first is warm-up).
    public static let observedStepsNeeded = 3
    /// The choice made by hand for the running search (REPL).
    public private(set) var forcedChoice: SubNetwork?
    /// The supernet while a search (or the supernet-only run) trains, else nil.
    public private(set) var supernet: Supernet?
    /// Everything searched and chosen so far (schedule.json).
    public private(set) var record: ScheduleRecord?
    /// The latest measurement of each candidate of the running (or last) search.
    public private(set) var measured: [SubNetwork: MeasuredCandidate] = [:]
    /// The step at which the running search measures and chooses (nil: none, or the
    /// supernet-only run, which never chooses).
    public private(set) var searchEnd: Int?
    private var sampler = RandomStream(seed: 0)
    private var sampled: SubNetwork?
    /// The running search's training-step times, per sampled candidate.
    private var observedStepSeconds: [SubNetwork: [Double]] = [:]
    /// Online weights and momentum copies before the search (without weight recycling).
    private var presearch: (online: StateDict, momentum: [StateDict])?
    /// The supernet's own moving average while a search runs (the run's first decay,
    /// warmed up from the search's start), on which L is measured; nil when the run keeps
    /// no average (L is then measured on the online weights). Not the run's average: with
    /// decay 0.998 over a search of 80 steps that is still 85 % the weights from before
    /// the search, trained at the current patch grid only, which tilts L towards it.
    public private(set) var searchAverage: EMA?

    public init(model: VisionTransformer, space: GrowthSpace, mode: Mode = .search,
                operator op: GrowthOperator = .moGrow, alpha: Double? = nil) throws {
        let c = model.configuration
        guard space.fullGrid == c.gridSize, space.fullDepth == c.depth else {
            throw TensorError("autoprog", "the growth space is for grid \(space.fullGrid) depth \(space.fullDepth), the model has grid \(c.gridSize) depth \(c.depth)")
        }
        guard op == .moGrow || op == .interpolation else {
            throw TensorError("autoprog", "the supernet grows by mogrow or interpolation, not \(op.rawValue)")
        }
        if mode == .search, space.stages < 2 {
            throw TensorError("autoprog", "needs at least 2 stages (each but the last is searched; the last is the full model), not \(space.stages)")
        }
        var stages = mode == .search ? ProgressiveStage.prog(space) : [ProgressiveStage(grid: c.gridSize, depth: c.depth, fraction: 1)]
        stages[stages.count - 1].grid = c.gridSize
        stages[stages.count - 1].depth = c.depth
        prog = try ProgController(model: model, stages: stages, operator: op)
        self.space = space
        self.mode = mode
        try setAlpha(alpha)
    }

    // MARK: Steering (REPL)

    /// Fixes α (nil: fit it at each search).
    public func setAlpha(_ value: Double?) throws {
        if let value, !(value.isFinite && value >= 0) {
            throw TensorError("autoprog", "α must be a finite number ≥ 0, not \(value)")
        }
        alpha = value
    }

    /// Makes `choice` this search's outcome (it is still measured with the others).
    public func force(_ choice: SubNetwork?) throws {
        guard let choice else { forcedChoice = nil; return }
        guard let supernet, searchEnd != nil else { throw TensorError("autoprog", "no search is running: nothing to choose") }
        guard supernet.candidates.contains(choice) else {
            throw TensorError("autoprog", "\(choice) is not a candidate of this search (\(supernet.candidates.map(\.code).joined(separator: ", ")))")
        }
        forcedChoice = choice
    }

    // MARK: The loop

    public var stageDescription: String? {
        guard let supernet else { return prog.stageDescription }
        let g = supernet.candidates.map(\.grid), d = supernet.candidates.map(\.depth)
        let span = "grid \(g.min()!)-\(g.max()!) depth \(d.min()!)-\(d.max()!)"
        return mode == .supernet ? "supernet \(span)" : "\(prog.stage + 1)/\(prog.stages.count) search \(span)"
    }

    public func willStep(_ trainer: Trainer) throws -> ControllerAction {
        prog.log = { [weak trainer] text in trainer?.progress?.message(text) }
        let step = trainer.state.step, total = trainer.state.totalSteps
        if searchEnd != nil, let s = sampled, step > 0 {
            observedStepSeconds[s, default: []].append(trainer.state.stepSeconds)  // the step `s` just trained
        }
        if record == nil {
            record = ScheduleRecord(schedule: mode.rawValue, space: Double(space.smallestRatio), stageCount: prog.stages.count,
                                    growthOperator: prog.growthOperator.rawValue, recycle: recycles, fixedAlpha: alpha,
                                    model: space.full, totalSteps: total)
        }
        if mode == .supernet {
            let action = supernet == nil ? try beginSupernetRun(trainer) : .none
            try sampleStep(trainer)
            return action
        }
        let target = prog.stageIndex(step: step, totalSteps: total)
        if target != prog.stage {
            if target < prog.stages.count - 1 {
                let action = try beginSearch(stage: target, trainer)
                if supernet != nil { try sampleStep(trainer) }
                return action
            }
            // The last stage: the full model, grown from the last choice as Prog grows.
            var last = ScheduleRecord.Stage(index: target, steps: prog.stageRange(target, totalSteps: total))
            last.chosen = space.full
            record?.stages.append(last)
            try writeRecord(trainer)
            return try prog.willStep(trainer)
        }
        if let end = searchEnd {
            if step >= end { return try finishSearch(trainer) }
            try sampleStep(trainer)
            return .none
        }
        return try prog.willStep(trainer)
    }

    /// After the step the supernet's average moves, and the supernet rests at its largest
    /// sub-network, so evaluation, the REPL and checkpoints see the whole supernet (the full
    /// model in the supernet-only run).
    public func didStep(_ trainer: Trainer) throws {
        try searchAverage?.update()
        if let supernet { try supernet.activate(supernet.largest) }
    }

    private func makeSearchAverage(_ trainer: Trainer) throws -> EMA? {
        try trainer.configuration.emaDecays.first.map { try EMA(model: model, decays: [$0], warmup: EMA.Warmup()) }
    }

    public func stepRecord() -> OrderedDictionary<String, JSONValue> {
        sampled.map { ["sub_network": .string($0.code)] } ?? [:]
    }

    public func stageRecord() -> OrderedDictionary<String, JSONValue> {
        guard let supernet else { return prog.stageRecord() }
        let flops = supernet.candidates.map { visionTransformerFLOPs(model.configuration, grid: $0.grid, depth: $0.depth) / 1e9 }
        return ["search": .bool(true), "candidates": .array(supernet.candidates.map { .string($0.code) }),
                "candidate_gflops_per_image": .array(flops.map(JSONValue.number)),
                "base_depth": .integer(supernet.baseDepth), "grid": .integer(supernet.largest.grid),
                "depth": .integer(supernet.largest.depth), "search_end_step": searchEnd.map(JSONValue.integer) ?? .null]
    }

    private func searchStepCount(_ trainer: Trainer) -> Int {
        switch searchLength {
        case .steps(let n): return n
        case .epochs(let e): return Int((e * Double(trainer.state.stepsPerEpoch)).rounded())
        }
    }

    /// Stage k's start: Λₖ, growth into its supernet, the search steps.
    private func beginSearch(stage k: Int, _ trainer: Trainer) throws -> ControllerAction {
        let step = trainer.state.step, total = trainer.state.totalSteps
        let current: SubNetwork? = k == 0 ? nil : SubNetwork(grid: prog.stages[k - 1].grid, depth: prog.stages[k - 1].depth)
        let candidates = try current.map { try space.searchSpace(after: $0) } ?? space.firstSearchSpace()
        let base = current?.depth ?? candidates.map(\.depth).min()!
        let range = prog.stageRange(k, totalSteps: total)
        let steps = searchStepCount(trainer)
        prog.begin(stage: k, at: step)
        var action: ControllerAction = [.stageStarted, .optimizerReset]
        var stageRecord = ScheduleRecord.Stage(index: k, steps: range)
        if candidates.count == 1 {
            // Nothing to choose between: train the only candidate.
            let only = candidates[0]
            if only.depth > base { action.formUnion(try prog.grow(from: base, to: only.depth, ema: trainer.ema)) }
            try prog.setStage(k, grid: only.grid, depth: only.depth)
            try prog.apply()
            try prog.regularise(trainer)
            stageRecord.chosen = only
            record?.stages.append(stageRecord)
            try writeRecord(trainer)
            prog.log("stage \(k + 1)/\(prog.stages.count): the only candidate is \(only)")
            return action
        }
        guard steps >= 1, steps < range.count else {
            throw TrainingError("autoprog: the search of stage \(k + 1) takes \(steps) steps but the stage has \(range.count): "
                                + "it must fit with at least one step to spare (change search_epochs/search_steps or train longer)")
        }
        if !recycles { presearch = try snapshot(trainer.ema) }
        let supernet = try Supernet(model: model, baseDepth: base, candidates: candidates)
        if supernet.largest.depth > base {
            action.formUnion(try prog.grow(from: base, to: supernet.largest.depth, ema: trainer.ema))
        }
        try supernet.activate(supernet.largest)
        self.supernet = supernet
        searchAverage = try makeSearchAverage(trainer)
        searchEnd = step + steps
        sampler = RandomStream(seed: Random.seed, purpose: "autoprog.search.stage\(k + 1)")
        measured = [:]
        observedStepSeconds = [:]
        forcedChoice = nil
        stageRecord.searchSteps = step..<(step + steps)
        record?.stages.append(stageRecord)
        try writeRecord(trainer)
        try prog.regularise(trainer)
        prog.log("stage \(k + 1)/\(prog.stages.count): supernet of \(candidates.count) candidates "
                 + "(\(candidates.map(\.code).joined(separator: " "))), depth \(base) grown to \(supernet.largest.depth), "
                 + "searching for \(steps) steps")
        return action
    }

    private func beginSupernetRun(_ trainer: Trainer) throws -> ControllerAction {
        let candidates = space.allSubNetworks
        let base = space.depths[0]
        prog.begin(stage: 0, at: trainer.state.step)
        var action: ControllerAction = [.stageStarted, .optimizerReset]
        let supernet = try Supernet(model: model, baseDepth: base, candidates: candidates)
        if supernet.largest.depth > base {
            action.formUnion(try prog.grow(from: base, to: supernet.largest.depth, ema: trainer.ema))
        }
        try supernet.activate(supernet.largest)
        self.supernet = supernet
        sampler = RandomStream(seed: Random.seed, purpose: "autoprog.supernet")
        var stage = ScheduleRecord.Stage(index: 0, steps: 0..<trainer.state.totalSteps, searchSteps: 0..<trainer.state.totalSteps)
        stage.chosen = space.full
        record?.stages.append(stage)
        try writeRecord(trainer)
        prog.log("supernet-only: \(candidates.count) sub-networks sampled uniformly all run; the full model is evaluated")
        return action
    }

    private func sampleStep(_ trainer: Trainer) throws {
        guard let supernet else { return }
        let s = supernet.sample(&sampler)
        try supernet.activate(s)
        sampled = s
        try prog.regularise(trainer)
    }

    /// The fixed images L is measured on: `searchImages` of the training set, evenly spaced.
    private func measuringIndices(_ data: Dataset) -> [Int] {
        let n = max(1, min(searchImages, data.count))
        return (0..<n).map { $0 * data.count / n }
    }

    /// Every candidate's L (fixed images, no augmentation, momentum weights, eval mode)
    /// and T, and the wall time this took. T is the median of the candidate's own training
    /// steps in this search when every candidate has trained `observedStepsNeeded` steps
    /// (free: nothing runs for it), else timed forward/backward passes on a batch of the
    /// run's size that leave the weights unchanged, for every candidate alike.
    public func measureCandidates(_ trainer: Trainer) throws -> (candidates: [MeasuredCandidate], seconds: Double, timing: Timing) {
        guard let supernet else { throw TensorError("autoprog", "no supernet is training now: nothing to measure") }
        let started = Date()
        let data = trainer.configuration.data, indices = measuringIndices(data)
        let evalBatch = trainer.configuration.evalBatchSize ?? trainer.configuration.batchSize
        let observed = supernet.candidates.allSatisfy { observedStepSeconds[$0, default: []].count >= Self.observedStepsNeeded }
        let timingBatch = observed ? nil : try data.batch((0..<trainer.configuration.batchSize).map { indices[$0 % indices.count] })
        var results: [MeasuredCandidate] = []
        for c in supernet.candidates {
            let e = try supernet.evaluate(c, on: data, indices: indices, batchSize: evalBatch, ema: searchAverage)
            let t: Double
            if let timingBatch {
                t = try supernet.stepTime(c, batch: timingBatch, warmup: timingWarmup, timed: timingSteps)
            } else {
                let steady = observedStepSeconds[c, default: []].dropFirst().sorted()
                t = steady[steady.count / 2]
            }
            results.append(MeasuredCandidate(subNetwork: c, loss: e.loss, stepSeconds: t))
        }
        return (results, Date().timeIntervalSince(started), observed ? .trainingSteps : .timedPasses)
    }

    /// Where a search's T came from.
    public enum Timing: String, Sendable {
        case trainingSteps = "training_steps"
        case timedPasses = "timed_passes"
    }

    /// Measures the candidates now and scores them with the α in force (fitted if not
    /// fixed), without choosing: what the REPL lists. Returns the scored candidates.
    @discardableResult
    public func measureNow(_ trainer: Trainer) throws -> [MeasuredCandidate] {
        let (results, _, _) = try measureCandidates(trainer)
        let scored = CandidateRanking.scored(results, alpha: alpha ?? CandidateRanking.alpha(results))
        measured = Dictionary(uniqueKeysWithValues: scored.map { ($0.subNetwork, $0) })
        return scored
    }

    /// Measures every candidate's L and T, chooses, recycles the weights.
    private func finishSearch(_ trainer: Trainer) throws -> ControllerAction {
        guard let supernet else { return .none }
        let k = prog.stage
        let (results, seconds, timing) = try measureCandidates(trainer)
        let fit = CandidateRanking.fit(results)
        let a = alpha ?? fit.map { max(-$0.b, 0) } ?? 0
        let scored = CandidateRanking.scored(results, alpha: a)
        measured = Dictionary(uniqueKeysWithValues: scored.map { ($0.subNetwork, $0) })
        let choice: SubNetwork
        if let forcedChoice {
            choice = forcedChoice
        } else {
            guard let best = CandidateRanking.best(scored) else {
                throw TrainingError("autoprog: every candidate of stage \(k + 1) has a NaN or infinite loss (the supernet diverged; lower the learning rate)")
            }
            choice = scored[best].subNetwork
        }
        for c in scored {
            let note = c.isMeasured ? "" : " (not finite: ranks last)"
            prog.log(String(format: "  %@: L %.4f, T %.2f ms, score %@%@", c.subNetwork.description, c.loss, c.stepSeconds * 1000,
                            c.score.map { String(format: "%.5g", $0) } ?? "-", note))
            try trainer.log(["event": .string("search_candidate"), "grid": .integer(c.subNetwork.grid),
                             "depth": .integer(c.subNetwork.depth), "search_loss": .number(c.loss),
                             "step_ms": .number(c.stepSeconds * 1000), "score": c.score.map(JSONValue.number) ?? .null])
        }
        prog.log(String(format: "stage %d/%d: α = %.3f%@, chose %@%@; measuring took %.2f s (T from %@)", k + 1, prog.stages.count, a,
                        alpha == nil ? (fit == nil ? " (nothing to fit)" : " (fitted)") : " (fixed)", choice.description,
                        forcedChoice == nil ? "" : " (forced)", seconds,
                        timing == .trainingSteps ? "the candidates' training steps" : "timed passes"))
        try trainer.log(["event": .string("search_result"), "alpha": .number(a), "fit_b": fit.map { .number($0.b) } ?? .null,
                         "chosen": .string(choice.code), "forced": .bool(forcedChoice != nil), "measure_seconds": .number(seconds),
                         "timing": .string(timing.rawValue)])
        if let i = record?.stages.lastIndex(where: { $0.index == k }) {
            record?.stages[i].candidates = scored
            record?.stages[i].alpha = a
            record?.stages[i].fit = fit
            record?.stages[i].chosen = choice
            record?.stages[i].forced = forcedChoice != nil
            record?.stages[i].measureSeconds = seconds
        }
        try writeRecord(trainer)

        if recycles {
            try prog.remapBlocks(try supernet.blocks(depth: choice.depth).map { $0 }, ema: trainer.ema, online: .keepingMomentum)
        } else if let presearch {
            try restore(presearch, ema: trainer.ema)
            if choice.depth > supernet.baseDepth {
                _ = try prog.grow(from: supernet.baseDepth, to: choice.depth, ema: trainer.ema)
            }
        }
        try prog.setStage(k, grid: choice.grid, depth: choice.depth)
        prog.restartStepTiming(at: trainer.state.step)
        try prog.apply()
        self.supernet = nil
        searchAverage = nil
        searchEnd = nil
        presearch = nil
        forcedChoice = nil
        sampled = nil
        observedStepSeconds = [:]
        return .optimizerReset
    }

    // MARK: Measuring from the REPL

    /// Loss and top-1 of a candidate on `data` with the supernet's average (as the search
    /// measures L), leaving the run as it was.
    public func evaluate(_ s: SubNetwork, on data: Dataset, trainer: Trainer) throws -> Evaluation {
        guard let supernet else { throw TensorError("autoprog", "no supernet is training now") }
        return try supernet.evaluate(s, on: data, batchSize: trainer.configuration.evalBatchSize ?? trainer.configuration.batchSize,
                                     ema: searchAverage)
    }

    // MARK: Weights before the search

    private func snapshot(_ ema: EMA?) throws -> (online: StateDict, momentum: [StateDict]) {
        (model.stateDict().mapValues { $0.clone() },
         try ema.map { e in try e.decays.indices.map { try e.weights(decayIndex: $0).mapValues { $0.clone() } } } ?? [])
    }

    private func restore(_ saved: (online: StateDict, momentum: [StateDict]), ema: EMA?) throws {
        if let ema {
            guard saved.momentum.count == ema.decays.count else {
                throw TensorError("autoprog", "the saved pre-search weights have \(saved.momentum.count) momentum copies, the run has \(ema.decays.count)")
            }
            for (k, copy) in saved.momentum.enumerated() {
                try model.load(copy, strict: false)
                try ema.assign(from: model, decayIndex: k)
            }
        }
        try model.load(saved.online, strict: false)
    }

    private func writeRecord(_ trainer: Trainer) throws {
        guard let record, let url = trainer.run?.scheduleURL else { return }
        try record.write(to: url)
    }

    // MARK: State

    public func stateDict() -> SavedState {
        var saved = prog.stateDict().prefixed("prog.")
        saved.metadata["mode"] = mode.rawValue
        saved.metadata["chosen"] = prog.stages.map { SubNetwork(grid: $0.grid, depth: $0.depth).code }.joined(separator: ",")
        saved.metadata["alpha"] = alpha.map { "\($0)" } ?? "fit"
        saved.metadata["forced"] = forcedChoice?.code ?? ""
        saved.metadata["record"] = record?.json.serialized ?? ""
        if let supernet {
            saved.metadata["search_base"] = String(supernet.baseDepth)
            saved.metadata["search_candidates"] = supernet.candidates.map(\.code).joined(separator: ",")
            saved.metadata["search_end"] = searchEnd.map(String.init) ?? "none"
            saved.metadata["sampler_key"] = String(sampler.philox.key)
            saved.metadata["sampler_counter"] = String(sampler.philox.counter)
        }
        if let searchAverage { saved.merge(searchAverage.stateDict().prefixed("search_average.")) }
        if let presearch {
            for (name, t) in presearch.online { saved.tensors["presearch.online." + name] = t }
            for (k, copy) in presearch.momentum.enumerated() {
                for (name, t) in copy { saved.tensors["presearch.momentum.\(k)." + name] = t }
            }
            saved.metadata["presearch_momentum"] = String(presearch.momentum.count)
        }
        return saved
    }

    public func load(_ state: SavedState) throws {
        func bad(_ what: String) -> TensorError { TensorError("autoprog", "checkpoint: \(what)") }
        let m = state.metadata
        guard m["mode"] == mode.rawValue else {
            throw bad("written by a \(m["mode"].map { "\"\($0)\"" } ?? "non-AutoProg") schedule, this run is \(mode.rawValue)")
        }
        let chosen = (m["chosen"] ?? "").split(separator: ",").compactMap { SubNetwork(code: $0) }
        guard chosen.count == prog.stages.count else { throw bad("controller.chosen does not list \(prog.stages.count) stages") }
        for (k, s) in chosen.enumerated() { try prog.setStage(k, grid: s.grid, depth: s.depth) }
        try prog.load(state.scoped("prog."))
        alpha = m["alpha"].flatMap(Double.init)
        forcedChoice = m["forced"].flatMap { SubNetwork(code: $0) }
        if let text = m["record"], !text.isEmpty {
            record = try ScheduleRecord(json: try JSONValue.parse(text), source: "checkpoint metadata controller.record")
        }
        supernet = nil
        searchEnd = nil
        if let baseText = m["search_base"] {
            let candidates = (m["search_candidates"] ?? "").split(separator: ",").compactMap { SubNetwork(code: $0) }
            guard let base = Int(baseText), !candidates.isEmpty, let key = m["sampler_key"].flatMap(UInt64.init),
                  let counter = m["sampler_counter"].flatMap(UInt64.init) else {
                throw bad("the running search's state (controller.search_*, sampler_*) is incomplete")
            }
            let supernet = try Supernet(model: model, baseDepth: base, candidates: candidates)
            try supernet.activate(supernet.largest)
            self.supernet = supernet
            searchEnd = m["search_end"].flatMap(Int.init)
            sampler.philox = Philox(key: key, counter: counter)
        }
        searchAverage = nil
        let average = state.scoped("search_average.")
        if !average.metadata.isEmpty {
            guard supernet != nil, let decay = average.metadata["decays"].flatMap(Float.init) else {
                throw bad("controller.search_average.* is there without a running search, or without one decay")
            }
            let ema = try EMA(model: model, decays: [decay], warmup: EMA.Warmup())
            try ema.load(average)
            searchAverage = ema
        }
        presearch = nil
        if let count = m["presearch_momentum"].flatMap(Int.init) {
            func scoped(_ prefix: String) -> StateDict {
                var d = StateDict()
                for (k, v) in state.tensors where k.hasPrefix(prefix) { d[String(k.dropFirst(prefix.count))] = v.clone() }
                return d
            }
            presearch = (scoped("presearch.online."), (0..<count).map { scoped("presearch.momentum.\($0).") })
        }
    }
}
