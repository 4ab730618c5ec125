import Foundation
import OrderedCollections

/// Progressive fine-tuning of a pretrained DiT (AutoProg §4, DESIGN §5): the run is split
/// into K equal stages; each trains at a resolution r (a level of `FineTuneLevels`, images
/// shrunk by area averaging, DiT's sin-cos position embedding taken at the smaller grid)
/// with a fraction l of the blocks learnable (`LearnableMask` in the chosen unfreezing
/// order; frozen blocks cost no weight-gradient work). One optimizer serves the whole run:
/// a frozen parameter simply gets no gradient and keeps its optimizer state.
///
/// How each stage's (r, l) is chosen:
/// - `prog`: uniformly, stage k at level k of both (the paper's Prog baseline).
/// - `autoprogZero`: at each stage start the candidates {current, next} r × {current, next}
///   l are measured without training — step time T (timed forward/backward passes, once a
///   run for each sub-network), NTK condition number κ and ZiCo — and ranked:
///   R = R(T) + ½R(κ) + ½R(ZiCo), competition ranking, ties to the smaller candidate
///   (`RankVote`).
/// - `autoprogOne`: the same candidates share the weights and train as a supernet for the
///   search steps, one drawn uniformly per step; each is scored by its mean training loss
///   L and its median step time T as AutoProg-One scores (L·T^α, α fitted), lowest wins.
/// The last stage trains the full model — full resolution, every block learnable — as in
/// the reference code and AutoProg-One (samples are drawn at full size), unless
/// `lastStageIsFullModel` is off. With SID on the model, stage k conditions on SID k.
///
/// Every stage and candidate goes to metrics.jsonl and `schedule.json`; the controller's
/// state is in every checkpoint.
public final class FineTuneController: ProgressiveController {
    public enum Schedule: String, CaseIterable, Sendable {
        case prog
        case autoprogZero = "autoprog-zero"
        case autoprogOne = "autoprog-one"
    }

    public let schedule: Schedule
    public let model: DiT
    public let levels: FineTuneLevels
    public let order: UnfreezeOrder
    /// The process x_t is drawn from for the NTK's inputs.
    public var diffusion: GaussianDiffusion
    public var lastStageIsFullModel = true
    /// Samples in κ's Gram matrix, batches in ZiCo's statistics.
    public var ntkSamples = 8
    public var zicoBatches = 2
    /// Untimed and timed forward/backward passes for a candidate's T (AutoProg-Zero).
    public var timingWarmup = 2
    public var timingSteps = 5
    /// AutoProg-One: supernet training steps at each stage start (0: a quarter of the stage).
    public var searchSteps = 0
    /// AutoProg-One: fixed α, or nil to fit it.
    public var alpha: Double?

    public private(set) var stage = -1
    /// The sub-network training now (nil before the first step).
    public private(set) var current: FineTuneCandidate?
    /// The latest measurement of the candidates (REPL, schedule.json).
    public private(set) var measured: [FineTuneRecord.Candidate] = []
    /// T of every sub-network timed so far in the run. A step's time depends on the
    /// sub-network's shape (resolution, learnable blocks), not on its weights, so a later
    /// vote reuses it rather than timing the same sub-network again: in a K-stage run with
    /// 4 candidates a vote, K − 1 votes time at most 4 + 2(K − 2) sub-networks instead of
    /// 4(K − 1) (none new after a vote that kept the current one). Not checkpointed: a
    /// resumed run times afresh.
    public private(set) var stepTimes: [FineTuneCandidate: Double] = [:]
    public private(set) var record: FineTuneRecord?
    /// A choice made by hand (REPL): applied at once and kept for the rest of the stage.
    public private(set) var forced: FineTuneCandidate?
    var log: (String) -> Void = { _ in }
    private var stepTimer = StageStepTimer()
    // AutoProg-One's search.
    public private(set) var searchEnd: Int?
    private var searchCandidates: [FineTuneCandidate] = []
    /// The sub-network the search's candidates grow from (nil: the first stage).
    private var searchFrom: FineTuneCandidate?
    private var sampler = RandomStream(seed: 0)
    private var sampled: FineTuneCandidate?
    private var searchLosses: [FineTuneCandidate: [Double]] = [:]
    private var searchStepSeconds: [FineTuneCandidate: [Double]] = [:]

    /// `smallestResolutionRatio` is s₁ of the resolution levels (`FineTuneLevels`).
    public init(model: DiT, schedule: Schedule, stages: Int = 4, order: UnfreezeOrder = .interleaved,
                smallestResolutionRatio: Double = 0.25, diffusion: GaussianDiffusion) throws {
        let c = model.configuration
        levels = try FineTuneLevels(fullResolution: c.imageSize, multiple: c.patchSize, count: stages,
                                    smallestResolutionRatio: smallestResolutionRatio)
        if let sid = model.sidEmbedder, sid.stages != stages {
            throw TensorError("finetune", "the model's stage identifiers are for \(sid.stages) stages, the schedule has \(stages)")
        }
        self.model = model
        self.schedule = schedule
        self.order = order
        self.diffusion = diffusion
    }

    public var stageDescription: String? {
        guard stage >= 0 else { return nil }
        if searchEnd != nil { return "\(stage + 1)/\(levels.count) search" }
        guard let current else { return nil }
        return "\(stage + 1)/\(levels.count) \(levels.describe(current))"
    }

    /// The stage step `step` of `total` falls in (K equal shares).
    public func stageIndex(step: Int, totalSteps: Int) -> Int {
        StageShares(equal: levels.count).stage(at: step, totalSteps: totalSteps)
    }

    public func stageRange(_ k: Int, totalSteps: Int) -> Range<Int> {
        StageShares(equal: levels.count).range(k, totalSteps: totalSteps)
    }

    // MARK: The loop

    public func willStep(_ trainer: Trainer) throws -> ControllerAction {
        log = { [weak trainer] text in trainer?.progress?.message(text) }
        let step = trainer.state.step, total = trainer.state.totalSteps
        if record == nil {
            record = FineTuneRecord(schedule: schedule.rawValue, order: order.rawValue, stageCount: levels.count,
                                    totalSteps: total, resolutions: levels.resolutions)
        }
        if let s = sampled, searchEnd != nil, step > 0 {
            searchStepSeconds[s, default: []].append(trainer.state.stepSeconds)   // the step `s` just trained
            searchLosses[s, default: []].append(Double(trainer.state.loss))
        }
        let target = stageIndex(step: step, totalSteps: total)
        if target != stage { return try beginStage(target, trainer) }
        if let end = searchEnd {
            if step >= end { try finishSearch(trainer) } else { try sampleSearchStep() }
            return .none
        }
        let last = step + 1 >= total || stageIndex(step: step + 1, totalSteps: total) != stage
        try stepTimer.observe(trainer, lastStepOfStage: last, label: "stage \(stage + 1)/\(levels.count)", log: log)
        return .none
    }

    public func stepRecord() -> OrderedDictionary<String, JSONValue> {
        sampled.map { ["sub_network": .string(levels.describe($0))] } ?? [:]
    }

    public func stageRecord() -> OrderedDictionary<String, JSONValue> {
        guard let current else { return [:] }
        var r: OrderedDictionary<String, JSONValue> = [
            "resolution": .integer(levels.resolution(current)), "fraction": .number(levels.fraction(current)),
            "learnable_parameters": .integer(learnableParameterCount())]
        if searchEnd != nil { r["search"] = .bool(true) }
        return r
    }

    /// Shrinks the batch's images to the stage's resolution (area averaging, antialiased).
    public func prepare(_ batch: Batch) throws -> Batch {
        try Self.shrink(batch, to: (sampled ?? current).map(levels.resolution) ?? model.configuration.imageSize)
    }

    /// `batch` with its images resized to r×r by area averaging (unchanged if they are).
    static func shrink(_ batch: Batch, to r: Int) throws -> Batch {
        guard batch.images.rank == 4, batch.images.shape[2] != r || batch.images.shape[3] != r else { return batch }
        let images = try Autograd.withoutGradients { try resize(batch.images, height: r, width: r, mode: .area) }
        return Batch(images: images, labels: batch.labels, indices: batch.indices)
    }

    private func beginStage(_ k: Int, _ trainer: Trainer) throws -> ControllerAction {
        let last = k == levels.count - 1
        stage = k
        forced = nil
        stepTimer.restart(at: trainer.state.step)
        if model.sidEmbedder != nil { try model.setStage(k) }
        var stageEntry = FineTuneRecord.Stage(index: k, steps: stageRange(k, totalSteps: trainer.state.totalSteps))
        let candidates = last && lastStageIsFullModel ? [levels.full] : levels.candidates(after: current)
        let choice: FineTuneCandidate
        switch schedule {
        case .prog:
            choice = FineTuneCandidate(resolutionLevel: k, fractionLevel: k)
        case .autoprogZero:
            if candidates.count == 1 {
                choice = candidates[0]
            } else {
                let started = Date()
                let (ballots, winner) = try vote(candidates, trainer)
                stageEntry.candidates = ballots
                stageEntry.measureSeconds = Date().timeIntervalSince(started)
                choice = candidates[winner]
                try logCandidates(ballots, chosen: choice, seconds: stageEntry.measureSeconds!, trainer)
            }
        case .autoprogOne:
            let steps = searchSteps > 0 ? searchSteps : max(1, stageEntry.steps.count / 4)
            if candidates.count > 1, steps < stageEntry.steps.count {
                stageEntry.searchSteps = trainer.state.step..<(trainer.state.step + steps)
                record?.stages.append(stageEntry)
                try writeRecord(trainer)
                searchEnd = trainer.state.step + steps
                searchCandidates = candidates
                searchFrom = current
                searchLosses = [:]
                searchStepSeconds = [:]
                sampler = RandomStream(seed: Random.seed, purpose: "autoprog-one.finetune.stage\(k + 1)")
                current = candidates.last
                try sampleSearchStep()
                log("stage \(k + 1)/\(levels.count): training \(candidates.count) candidates as a supernet for \(steps) steps")
                return .stageStarted
            }
            choice = candidates.last!
        }
        try activate(choice)
        stageEntry.chosen = choice
        stageEntry.resolution = levels.resolution(choice)
        stageEntry.fraction = levels.fraction(choice)
        record?.stages.append(stageEntry)
        try writeRecord(trainer)
        return .stageStarted
    }

    /// Makes `c` the training sub-network: its learnable blocks and its resolution.
    private func activate(_ c: FineTuneCandidate) throws {
        try mask(c).apply(to: model)
        current = c
        log(String(format: "stage %d/%d: %@, %d learnable parameters", stage + 1, levels.count, levels.describe(c),
                   learnableParameterCount()))
    }

    /// The learnable blocks of candidate `c` in this run's unfreezing order.
    private func mask(_ c: FineTuneCandidate) -> LearnableMask {
        LearnableMask(fraction: levels.fraction(c), order: order)
    }

    private func learnableParameterCount() -> Int {
        model.parameters.filter(\.requiresGrad).reduce(0) { $0 + $1.value.count }
    }

    // MARK: AutoProg-Zero

    /// Measures every candidate and counts the rank vote; returns the ballots and the winner.
    /// κ and ZiCo are measured afresh (they depend on the weights); T is taken from
    /// `stepTimes` for a sub-network already timed, unless `retime`.
    public func vote(_ candidates: [FineTuneCandidate], _ trainer: Trainer,
                     retime: Bool = false) throws -> ([FineTuneRecord.Candidate], Int) {
        var entries: [FineTuneRecord.Candidate] = []
        let images = try measuringBatches(trainer)   // read once, shrunk per candidate
        for c in candidates {
            let entry = try measure(c, trainer, batches: images, stepSeconds: retime ? nil : stepTimes[c])
            stepTimes[c] = entry.stepSeconds
            entries.append(entry)
        }
        let (ballots, winner) = RankVote.count(entries.map { RankVote.Ballot(stepSeconds: $0.stepSeconds,
                                                                              kappa: $0.kappa ?? .infinity,
                                                                              zico: $0.zico ?? -.infinity) })
        for i in entries.indices {
            entries[i].ranks = .init(time: ballots[i].rankT, kappa: ballots[i].rankKappa, zico: ballots[i].rankZico)
            entries[i].vote = ballots[i].vote
        }
        measured = entries
        return (entries, winner)
    }

    /// One candidate's T, κ and ZiCo on fixed images, the weights unchanged. Every candidate
    /// draws the same timesteps, noise and label drops (the random streams are put back).
    /// A known `stepSeconds` is T as given, and the candidate is not timed.
    public func measure(_ c: FineTuneCandidate, _ trainer: Trainer, batches given: [Batch]? = nil,
                        stepSeconds known: Double? = nil) throws -> FineTuneRecord.Candidate {
        let random = Random.state
        let previous = current, wasTraining = model.isTraining
        defer {
            Random.restore(random)
            model.train(wasTraining)
            model.zeroGrad()
        }
        try mask(c).apply(to: model)
        defer { if let previous { try? mask(previous).apply(to: model) } }
        model.train()
        let r = levels.resolution(c)
        let batches = try (given ?? measuringBatches(trainer)).map { try Self.shrink($0, to: r) }

        // T: the fastest of timed forward/backward passes on the first batch (training mode).
        let t = try known ?? measureStepTime(warmup: timingWarmup, timed: timingSteps) {
            Random.restore(random)
            try trainer.trainingLoss(on: batches[0]).backward()
            model.zeroGrad()
        }

        // κ: per-sample gradients of the ε-prediction at fixed x_t, in eval mode (no label
        // dropout), over the learnable weight tensors (as the reference code: names `weight`).
        Random.restore(random)
        model.eval()
        let (xt, timesteps, labels) = try ntkInputs(batches[0])
        let n = min(ntkSamples, xt.shape[0])
        let weights = model.namedParameters().filter { $0.1.requiresGrad && $0.0.hasSuffix("weight") }.map(\.1)
        // A metric that cannot be computed ranks worst, with the reason logged; the run goes on.
        let ntk: NTKCondition
        do {
            ntk = try ntkConditionNumber(parameters: weights, samples: n) { i in
                try self.model.forward(xt.sliced(axis: 0, i..<(i + 1)), timesteps: timesteps.sliced(axis: 0, i..<(i + 1)),
                                       labels: [labels[i]])
            }
        } catch {
            ntk = .degenerate("not computed: \(error)")
        }
        model.train()
        // ZiCo: gradient statistics of the training loss across batches.
        Random.restore(random)
        let z: ZiCoScore
        do {
            z = try zico(layers: zicoLayers(model), batches: zicoBatches) { j in try trainer.trainingLoss(on: batches[j]) }
        } catch {
            z = .degenerate("not computed: \(error)")
        }
        return FineTuneRecord.Candidate(candidate: c, resolution: r, fraction: levels.fraction(c),
                                        learnableParameters: learnableParameterCount(), stepSeconds: t,
                                        kappa: ntk.kappa, kappaNote: ntk.reason, zico: z.value, zicoNote: z.reason)
    }

    /// The fixed measuring images at full size: `zicoBatches` batches of the run's size,
    /// evenly spaced through the training set.
    private func measuringBatches(_ trainer: Trainer) throws -> [Batch] {
        let data = trainer.configuration.data, size = trainer.configuration.batchSize, count = max(zicoBatches, 1)
        let n = min(data.count, size * count)
        let indices = (0..<n).map { $0 * data.count / n }
        return try (0..<count).map { j in try data.batch((0..<size).map { indices[(j * size + $0) % indices.count] }) }
    }

    /// x_t = q_sample(x₀ in [−1, 1], t) with timesteps spread evenly over the process and
    /// noise from a fixed stream, for the NTK's per-sample outputs.
    private func ntkInputs(_ batch: Batch) throws -> (Tensor, Tensor, [Int]) {
        let b = batch.images.shape[0], steps = diffusion.stepCount
        let x0 = try batch.images * 2 - 1
        let t = (0..<b).map { ($0 * 2 + 1) * steps / (2 * b) }
        var stream = RandomStream(seed: Random.seed, purpose: "autoprog-zero.ntk")
        let noise = Tensor(uninitializedShape: x0.shape)
        stream.fillNormal(noise.pointer, count: noise.count, mean: 0, std: 1)
        let xt = try diffusion.qSample(x0, timesteps: t, noise: noise)
        return (xt, try Tensor(t.map(Float.init), shape: [b]), batch.labels)
    }

    private func logCandidates(_ entries: [FineTuneRecord.Candidate], chosen: FineTuneCandidate, seconds: Double,
                               _ trainer: Trainer) throws {
        for e in entries {
            log(String(format: "  %@: T %.1f ms, κ %.4g%@, ZiCo %.4g%@, ranks %d/%d/%d, vote %.1f%@",
                       levels.describe(e.candidate), e.stepSeconds * 1000, e.kappa ?? .nan, e.kappaNote.map { " (\($0))" } ?? "",
                       e.zico ?? .nan, e.zicoNote.map { " (\($0))" } ?? "", e.ranks?.time ?? 0, e.ranks?.kappa ?? 0,
                       e.ranks?.zico ?? 0, e.vote ?? .nan, e.candidate == chosen ? "  ← chosen" : ""))
            var line: OrderedDictionary<String, JSONValue> = [
                "event": .string("zero_shot_candidate"), "resolution": .integer(e.resolution), "fraction": .number(e.fraction),
                "step_ms": .number(e.stepSeconds * 1000), "ntk_kappa": JSONValue.measurement(e.kappa), "zico": JSONValue.measurement(e.zico)]
            if let r = e.ranks { line["ranks"] = [.integer(r.time), .integer(r.kappa), .integer(r.zico)] }
            line["vote"] = JSONValue.measurement(e.vote)
            if let n = e.kappaNote { line["ntk_note"] = .string(n) }
            if let n = e.zicoNote { line["zico_note"] = .string(n) }
            try trainer.log(line)
        }
        log(String(format: "stage %d/%d: chose %@; measuring took %.2f s", stage + 1, levels.count, levels.describe(chosen), seconds))
        try trainer.log(["event": .string("zero_shot_result"), "chosen": .string(levels.describe(chosen)),
                         "measure_seconds": .number(seconds)])
    }

    // MARK: AutoProg-One (fine-tuning baseline)

    private func sampleSearchStep() throws {
        let c = searchCandidates[sampler.nextInt(below: searchCandidates.count)]
        try mask(c).apply(to: model)
        sampled = c
    }

    /// Scores each candidate by its mean search loss L and median step time T (its first
    /// step left out) as L·T^α, chooses the lowest, and trains it for the rest of the stage.
    private func finishSearch(_ trainer: Trainer) throws {
        var entries: [FineTuneRecord.Candidate] = []
        for c in searchCandidates {
            let losses = searchLosses[c, default: []], times = searchStepSeconds[c, default: []]
            let steady = (times.count > 1 ? Array(times.dropFirst()) : times).sorted()
            let l = losses.isEmpty ? Double.nan : losses.reduce(0, +) / Double(losses.count)
            let t = steady.isEmpty ? Double.nan : steady[steady.count / 2]
            entries.append(FineTuneRecord.Candidate(candidate: c, resolution: levels.resolution(c), fraction: levels.fraction(c),
                                                    learnableParameters: try mask(c).learnableElementCount(in: model),
                                                    stepSeconds: t, loss: l))
        }
        let points = entries.map { (stepSeconds: $0.stepSeconds, loss: $0.loss ?? .nan) }
        let a = alpha ?? CandidateRanking.alpha(points)
        for i in entries.indices { entries[i].score = CandidateRanking.score(points[i], alpha: a) }
        guard let best = CandidateRanking.best(entries.map(\.score)) else {
            throw TrainingError("autoprog-one: no candidate of stage \(stage + 1) has a finite loss and step time (lower the learning rate or search longer)")
        }
        let choice = forced ?? searchCandidates[best]
        measured = entries
        for e in entries {
            log(String(format: "  %@: L %.4f, T %.1f ms, score %.5g%@", levels.describe(e.candidate), e.loss ?? .nan,
                       e.stepSeconds * 1000, e.score ?? .nan, e.candidate == choice ? "  ← chosen" : ""))
            try trainer.log(["event": .string("search_candidate"), "resolution": .integer(e.resolution),
                             "fraction": .number(e.fraction), "search_loss": JSONValue.measurement(e.loss),
                             "step_ms": JSONValue.measurement(e.stepSeconds * 1000), "score": JSONValue.measurement(e.score)])
        }
        try trainer.log(["event": .string("search_result"), "alpha": .number(a), "chosen": .string(levels.describe(choice))])
        if let i = record?.stages.lastIndex(where: { $0.index == stage }) {
            record?.stages[i].candidates = entries
            record?.stages[i].alpha = a
            record?.stages[i].chosen = choice
            record?.stages[i].resolution = levels.resolution(choice)
            record?.stages[i].fraction = levels.fraction(choice)
            record?.stages[i].forced = forced != nil
        }
        searchEnd = nil
        sampled = nil
        try activate(choice)
        stepTimer.restart(at: trainer.state.step)
        try writeRecord(trainer)
    }

    // MARK: Steering (REPL)

    /// Trains `c` from now to the end of the stage (recorded as forced).
    public func force(_ c: FineTuneCandidate, _ trainer: Trainer?) throws {
        guard (0..<levels.count).contains(c.resolutionLevel), (0..<levels.count).contains(c.fractionLevel) else {
            throw TensorError("finetune", "levels run from 0 to \(levels.count - 1), not \(c.code)")
        }
        forced = c
        guard searchEnd == nil else { return }   // AutoProg-One: taken when the search ends
        try activate(c)
        if let i = record?.stages.lastIndex(where: { $0.index == stage }) {
            record?.stages[i].chosen = c
            record?.stages[i].resolution = levels.resolution(c)
            record?.stages[i].fraction = levels.fraction(c)
            record?.stages[i].forced = true
        }
        if let trainer { try writeRecord(trainer) }
    }

    private func writeRecord(_ trainer: Trainer) throws {
        guard let record, let url = trainer.run?.scheduleURL else { return }
        try record.write(to: url)
    }

    // MARK: State

    /// The stages' resolutions as checkpoints record them ("16,20,24,28").
    private var resolutionsText: String { levels.resolutions.map(String.init).joined(separator: ",") }

    public func stateDict() -> SavedState {
        var m = ["stage": String(stage), "schedule": schedule.rawValue, "order": order.rawValue,
                 "resolutions": resolutionsText]
        if let current { m["current"] = current.code }
        if let forced { m["forced"] = forced.code }
        if let record { m["record"] = record.json.prettyPrinted() }
        if let searchEnd {
            m["search_end"] = String(searchEnd)
            if let from = searchFrom { m["search_from"] = from.code }
            m["search_sampler"] = String(sampler.philox.counter)
        }
        return SavedState(metadata: m)
    }

    public func load(_ state: SavedState) throws {
        guard let s = state.metadata["stage"].flatMap(Int.init), s >= -1, s < levels.count else {
            throw TensorError("finetune", "checkpoint has no valid fine-tuning stage (metadata controller.stage)")
        }
        guard state.metadata["schedule"] == schedule.rawValue, state.metadata["order"] == order.rawValue else {
            throw TensorError("finetune", "the checkpoint was made with schedule \(state.metadata["schedule"] ?? "?") and order \(state.metadata["order"] ?? "?"), this run has \(schedule.rawValue) and \(order.rawValue)")
        }
        if let saved = state.metadata["resolutions"], saved != resolutionsText {
            throw TensorError("finetune", "the checkpoint's stages train at \(saved) px, this run's at \(resolutionsText) px (a different space)")
        }
        func candidate(_ code: String?) throws -> FineTuneCandidate? {
            guard let code else { return nil }
            let parts = code.dropFirst().split(separator: "l").compactMap { Int($0) }
            guard code.hasPrefix("r"), parts.count == 2, parts.allSatisfy({ (0..<levels.count).contains($0) }) else {
                throw TensorError("finetune", "checkpoint sub-network '\(code)' is not a level pair of \(levels.count) stages")
            }
            return FineTuneCandidate(resolutionLevel: parts[0], fractionLevel: parts[1])
        }
        stage = s
        forced = try candidate(state.metadata["forced"])
        if let c = try candidate(state.metadata["current"]) {
            current = c
            try mask(c).apply(to: model)
        }
        if s >= 0, model.sidEmbedder != nil { try model.setStage(s) }
        if let text = state.metadata["record"] {
            record = try FineTuneRecord(json: try JSONValue.parse(text), source: "checkpoint metadata controller.record")
        }
        // A checkpoint inside an AutoProg-One search resumes it with the steps left: the
        // search end and the candidates come back; the losses and times gathered before the
        // checkpoint do not (the candidates are scored on the steps after it).
        if let end = state.metadata["search_end"].flatMap(Int.init) {
            searchEnd = end
            searchCandidates = levels.candidates(after: try candidate(state.metadata["search_from"]))
            sampler = RandomStream(seed: Random.seed, purpose: "autoprog-one.finetune.stage\(s + 1)")
            if let counter = state.metadata["search_sampler"].flatMap(UInt64.init) { sampler.philox.counter = counter }
            searchLosses = [:]
            searchStepSeconds = [:]
            sampled = nil
        }
    }
}
