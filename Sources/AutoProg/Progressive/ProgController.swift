import Foundation
import OrderedCollections

/// Manual progressive training of a ViT (Prog, ProgStack or a given list of stages):
/// the trainer's full-size model runs its first `depth` blocks at a `grid`² patch grid;
/// at each stage boundary the model grows in place — the new depth's blocks take their
/// weights from the previous stage's blocks by the growth operator's mapping (DESIGN §5),
/// MoGrow from the momentum (EMA) copies — and the optimizer is reset while the global
/// learning-rate schedule continues. Blocks not yet in use are frozen, so they cost no
/// work and no optimizer state. Optionally, regularisation rises with the stages
/// (`regularisation`). Each stage's sub-network, its forward FLOPs and its measured
/// steady-state step time go to the log and metrics.jsonl.
public final class ProgController: ProgressiveController {
    public let model: VisionTransformer
    /// The schedule. AutoProg fills in a searched stage's sub-network when its search ends
    /// (`setStage`); the step shares never change.
    public internal(set) var stages: [ProgressiveStage]
    public let growthOperator: GrowthOperator
    /// Reset the optimizer's state at each growth (the default, as in the paper).
    public var resetsOptimizer = true
    /// Adaptive regularisation (nil: the recipe's strength throughout).
    public var regularisation: AdaptiveRegularisation?
    public internal(set) var stage = -1
    var log: (String) -> Void = { _ in }
    private var regularisedStage = -1
    private var stepTimer = StageStepTimer()

    public init(model: VisionTransformer, stages: [ProgressiveStage], operator op: GrowthOperator) throws {
        guard !stages.isEmpty else { throw TensorError("prog", "a progressive schedule needs at least one stage") }
        try ProgController.validate(stages, for: model.configuration)
        self.model = model
        self.stages = stages
        growthOperator = op
    }

    /// Every stage fits the model and no stage is shallower than the one before.
    static func validate(_ stages: [ProgressiveStage], for c: VisionTransformer.Configuration) throws {
        for (k, s) in stages.enumerated() {
            guard s.depth >= 1, s.depth <= c.depth, s.grid >= 1, s.grid <= c.gridSize, s.fraction > 0 else {
                throw TensorError("prog", "stage \(k + 1) (grid \(s.grid), depth \(s.depth), fraction \(s.fraction)) does not fit a model of grid \(c.gridSize) and depth \(c.depth)")
            }
            if k > 0, s.depth < stages[k - 1].depth {
                throw TensorError("prog", "stage \(k + 1) has depth \(s.depth), smaller than stage \(k)'s \(stages[k - 1].depth): growth cannot shrink")
            }
        }
    }

    /// Sets stage `k`'s sub-network (its share of the steps stays), checked like `init`'s
    /// against the stages before it (later ones are placeholders until chosen).
    func setStage(_ k: Int, grid: Int, depth: Int) throws {
        var changed = stages
        changed[k].grid = grid
        changed[k].depth = depth
        try ProgController.validate(Array(changed[0...k]), for: model.configuration)
        stages = changed
    }

    public var stageDescription: String? {
        guard stage >= 0 else { return nil }
        let s = stages[stage]
        return "\(stage + 1)/\(stages.count) grid \(s.grid) depth \(s.depth)"
    }

    /// Steps are shared among the stages by their FLOPs fraction.
    public var shares: StageShares { StageShares(weights: stages.map(\.fraction)) }

    /// The stage step `step` of `total` falls in.
    public func stageIndex(step: Int, totalSteps: Int) -> Int { shares.stage(at: step, totalSteps: totalSteps) }

    /// The steps of stage `k` in a run of `totalSteps`.
    public func stageRange(_ k: Int, totalSteps: Int) -> Range<Int> { shares.range(k, totalSteps: totalSteps) }

    public func willStep(_ trainer: Trainer) throws -> ControllerAction {
        log = { [weak trainer] text in trainer?.progress?.message(text) }
        let target = stageIndex(step: trainer.state.step, totalSteps: trainer.state.totalSteps)
        guard target != stage else {
            try continueStage(trainer)
            return .none
        }
        var action: ControllerAction = .stageStarted
        if stage >= 0 {
            let rate = trainer.state.imagesPerSecond
            action.formUnion(try grow(from: stages[stage].depth, to: stages[target].depth, ema: trainer.ema))
            log(String(format: "stage %d ran at %.0f img/s", stage + 1, rate))
        }
        begin(stage: target, at: trainer.state.step)
        try apply()
        try regularise(trainer)
        return action
    }

    /// Grows the model's first `from` blocks to `to` by the growth operator, in place (MoGrow
    /// from the momentum copies), and returns what the trainer must rebuild.
    func grow(from: Int, to: Int, ema: EMA?) throws -> ControllerAction {
        let mapping = try GrowthOperator.depthMapping(from: from, to: to, operator: growthOperator)
        var action: ControllerAction = resetsOptimizer ? .optimizerReset : .none
        if growthOperator == .moGrow, let ema {
            try remapBlocks(mapping, ema: ema, online: .fromMomentum)
        } else {
            // (Identity adds ReZero parameters: the trainer then rebuilds the EMA itself.)
            try remapBlocks(mapping, ema: growthOperator == .identity ? nil : ema, online: .resettingMomentum)
            if growthOperator == .identity {
                var seen = Set<Int>()
                for (i, source) in mapping.enumerated() {
                    guard let source else { continue }
                    if !seen.insert(source).inserted { try model.blocks[i].enableReZero(value: 0) }
                }
                action.insert(.parametersChanged)
            }
        }
        return action
    }

    /// Where the online weights of re-mapped blocks come from.
    enum RemapSource {
        /// MoGrow: the online model and every momentum copy are each re-mapped from their
        /// momentum counterpart (the online one from copy 0).
        case fromMomentum
        /// The online weights re-mapped from themselves; the momentum copies restart at them.
        case resettingMomentum
        /// The online weights and each momentum copy re-mapped from themselves (weight
        /// recycling: a chosen sub-network keeps its trained and averaged weights).
        case keepingMomentum
    }

    /// Block i ← block mapping[i] (nil: unchanged) in the online model and, by `online`,
    /// in the momentum copies of `ema`.
    func remapBlocks(_ mapping: [Int?], ema: EMA?, online: RemapSource) throws {
        try ProgController.remapBlocks(of: model, mapping, ema: ema, online: online)
    }

    static func remapBlocks(of model: VisionTransformer, _ mapping: [Int?], ema: EMA?, online: RemapSource) throws {
        guard let ema else {
            try model.load(ProgController.remap(model.stateDict().mapValues { $0.clone() }, mapping: mapping), strict: false)
            return
        }
        let copies = try ema.decays.indices.map { k in
            ProgController.remap(try ema.weights(decayIndex: k).mapValues { $0.clone() }, mapping: mapping)
        }
        switch online {
        case .fromMomentum:
            for k in copies.indices.reversed() {
                try model.load(copies[k], strict: false)
                try ema.assign(from: model, decayIndex: k)
            }
        case .resettingMomentum:
            try model.load(ProgController.remap(model.stateDict().mapValues { $0.clone() }, mapping: mapping), strict: false)
            for k in ema.decays.indices { try ema.assign(from: model, decayIndex: k) }
        case .keepingMomentum:
            let grown = ProgController.remap(model.stateDict().mapValues { $0.clone() }, mapping: mapping)
            for k in copies.indices {
                try model.load(copies[k], strict: false)
                try ema.assign(from: model, decayIndex: k)
            }
            try model.load(grown, strict: false)
        }
    }

    /// Enters stage `k` at `step` (step timing restarts) without changing the model.
    func begin(stage k: Int, at step: Int) {
        stage = k
        restartStepTiming(at: step)
    }

    /// The stage's step time is measured again from `step` (after its warm-up).
    func restartStepTiming(at step: Int) {
        stepTimer.restart(at: step)
    }

    /// Between stage boundaries: the step-time measurement and the regularisation.
    func continueStage(_ trainer: Trainer) throws {
        try measureStepTime(trainer)
        try regularise(trainer)
    }

    private func measureStepTime(_ trainer: Trainer) throws {
        let step = trainer.state.step, total = trainer.state.totalSteps
        let last = step + 1 >= total || stageIndex(step: step + 1, totalSteps: total) != stage
        try stepTimer.observe(trainer, lastStepOfStage: last, label: "stage \(stage + 1)/\(stages.count)", log: log)
    }

    /// Sets the stage's regularisation strength: RandAugment magnitude and erasing
    /// probability of the trainer's augmentation, the model's drop-path rate.
    func regularise(_ trainer: Trainer) throws {
        guard let regularisation, regularisedStage != stage, stage >= 0 else { return }
        let f = regularisation.fraction(stage: stage, of: stages.count)
        try model.setDropPath(model.configuration.dropPath * f)
        if let base = trainer.configuration.augmentation {
            trainer.augmentation = (base as? any StrengthScalable)?.scaled(by: f) ?? base
        }
        regularisedStage = stage
        log(String(format: "stage %d/%d: regularisation at %.0f%% of full strength", stage + 1, stages.count, f * 100))
    }

    public func stageRecord() -> OrderedDictionary<String, JSONValue> {
        guard stage >= 0 else { return [:] }
        let s = stages[stage]
        return ["grid": .integer(s.grid), "depth": .integer(s.depth),
                "gflops_per_image": .number(visionTransformerFLOPs(model.configuration, grid: s.grid, depth: s.depth) / 1e9),
                "regularisation": .number(Double(regularisation?.fraction(stage: stage, of: stages.count) ?? 1))]
    }

    /// Runs the current stage's sub-network: active depth, grid, frozen unused blocks.
    func apply() throws {
        let s = stages[stage]
        model.activeBlocks = s.depth == model.configuration.depth ? nil : Array(0..<s.depth)
        model.activeGrid = s.grid == model.configuration.gridSize ? nil : s.grid
        for (i, block) in model.blocks.items.enumerated() { block.setRequiresGrad(i < s.depth) }
        let flops = visionTransformerFLOPs(model.configuration, grid: s.grid, depth: s.depth)
        log(String(format: "stage %d/%d: grid %d×%d, depth %d/%d, %.3f GFLOPs/image forward",
                   stage + 1, stages.count, s.grid, s.grid, s.depth, model.configuration.depth, flops / 1e9))
    }

    /// `blocks.i.*` ← `blocks.mapping[i].*` (nil: left out, so the block is unchanged).
    static func remap(_ state: StateDict, mapping: [Int?]) -> StateDict {
        var out = StateDict()
        for (key, value) in state {
            guard key.hasPrefix("blocks.") else { out[key] = value; continue }
            let rest = key.dropFirst("blocks.".count)
            guard let dot = rest.firstIndex(of: "."), let i = Int(rest[..<dot]) else { out[key] = value; continue }
            if i < mapping.count {
                if let source = mapping[i], let v = state["blocks.\(source)" + rest[dot...]] { out[key] = v }
            } else {
                out[key] = value
            }
        }
        return out
    }

    public func stateDict() -> SavedState {
        SavedState(metadata: ["stage": String(stage), "operator": growthOperator.rawValue,
                              "identity_blocks": identityBlocks.map(String.init).joined(separator: ",")])
    }

    /// Blocks carrying ReZero scalars (Identity growth), so a resumed model has them too.
    private var identityBlocks: [Int] {
        model.blocks.items.enumerated().filter { $0.element.reZero != nil }.map(\.offset)
    }

    public func load(_ state: SavedState) throws {
        guard let s = state.metadata["stage"].flatMap(Int.init), s >= -1, s < stages.count else {
            throw TensorError("prog", "checkpoint has no valid progressive stage (metadata controller.stage)")
        }
        for i in (state.metadata["identity_blocks"] ?? "").split(separator: ",").compactMap({ Int($0) })
        where model.blocks.items.indices.contains(i) && model.blocks[i].reZero == nil {
            try model.blocks[i].enableReZero(value: 0)
        }
        stage = s
        if s >= 0 { try apply() }
    }
}
