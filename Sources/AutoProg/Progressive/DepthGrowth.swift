/// Depth growth of a Vision Transformer between progressive stages (AutoProg §3.1).
///
/// Every function returns a NEW model (the source is untouched): a fresh network of the
/// target depth whose state dict is the source's, with block i taken from source block
/// mapping[i] (`GrowthOperator.depthMapping`). Blocks the mapping leaves nil keep their
/// fresh timm initialisation; stochastic-depth rates follow the new depth. The result
/// has the source's train/eval mode and `activeGrid`, and all blocks active.

/// Grows `model` to `toDepth` blocks with `op`. `.moGrow` needs the momentum copy: use
/// `growFromMomentum` (here it throws).
public func grow(_ model: VisionTransformer, toDepth: Int, operator op: GrowthOperator) throws -> VisionTransformer {
    guard op != .moGrow else {
        throw TensorError("grow", "MoGrow grows from an EMA: call growFromMomentum(model:ema:decayIndex:toDepth:)")
    }
    return try grownModel(model, weights: model.stateDict(), toDepth: toDepth, operator: op)
}

/// MoGrow: the grown online model is the Interpolation growth of the momentum copy
/// `decayIndex` of `ema` (an EMA of `model`), not of the online weights.
///
/// After growth the caller rebuilds the EMA for the new model with `growEMA`, which
/// grows every momentum copy from itself (so each copy keeps its own history).
public func growFromMomentum(model: VisionTransformer, ema: EMA, decayIndex: Int = 0,
                             toDepth: Int) throws -> VisionTransformer {
    try grownModel(model, weights: ema.weights(decayIndex: decayIndex), toDepth: toDepth, operator: .interpolation)
}

/// The momentum copies of `ema` (an EMA of `model`) each grown from itself by
/// Interpolation to `toDepth`: one state dict per decay, in `ema.decays` order.
public func grownMomentumWeights(model: VisionTransformer, ema: EMA, toDepth: Int) throws -> [StateDict] {
    try ema.decays.indices.map { k in
        try grownModel(model, weights: ema.weights(decayIndex: k), toDepth: toDepth, operator: .interpolation).stateDict()
    }
}

/// A new EMA tracking `grown` (the result of `growFromMomentum(model: source, ...)` or
/// `grow`) with `ema`'s decays, warm-up and update count, whose average k is `ema`'s
/// average k grown from itself by Interpolation. The old EMA cannot follow the new
/// parameters; after growth, use this one for every later `update()`.
public func growEMA(_ ema: EMA, source: VisionTransformer, grown: VisionTransformer) throws -> EMA {
    let states = try grownMomentumWeights(model: source, ema: ema, toDepth: grown.blocks.count)
    let result = try EMA(model: grown, decays: ema.decays, warmup: ema.warmup)
    var saved = result.stateDict()
    let names = grown.namedParameters().map(\.0)
    for (k, state) in states.enumerated() {
        for name in names {
            guard let t = state[name] else {
                throw TensorError("grow", "grown momentum copy \(k) has no \"\(name)\" (architectures differ)")
            }
            saved.tensors["\(k).\(name)"] = t
        }
    }
    saved.metadata["update_count"] = String(ema.updateCount)
    try result.load(saved)
    return result
}

/// A `toDepth`-deep copy of `model`'s architecture loaded from `weights` (a state dict of
/// `model`), with block i ← source block mapping[i]. ReZero scalars follow their source
/// block; with `.identity`, the extra copies get zero ones.
func grownModel(_ model: VisionTransformer, weights: StateDict, toDepth: Int,
                operator op: GrowthOperator) throws -> VisionTransformer {
    let mapping = try GrowthOperator.depthMapping(from: model.blocks.count, to: toDepth, operator: op)
    let zeroScaled = op == .identity ? GrowthOperator.copyPositions(mapping) : []
    var configuration = model.configuration
    configuration.depth = toDepth
    let grown = try VisionTransformer(configuration)
    for (i, source) in mapping.enumerated() {
        if zeroScaled.contains(i) || (source.map { model.blocks[$0].reZero != nil } ?? false) {
            try grown.blocks[i].enableReZero(value: 0)
        }
    }
    var state = grown.stateDict()
    for (name, tensor) in weights where !name.hasPrefix("blocks.") { state[name] = tensor }
    for (i, source) in mapping.enumerated() {
        guard let source else { continue }
        let from = "blocks.\(source).", to = "blocks.\(i)."
        for (name, tensor) in weights where name.hasPrefix(from) {
            let key = to + name.dropFirst(from.count)
            if zeroScaled.contains(i), key.hasSuffix(".gamma_1") || key.hasSuffix(".gamma_2") { continue }
            state[key] = tensor
        }
    }
    try grown.load(state)
    grown.train(model.isTraining)
    grown.activeGrid = model.activeGrid
    return grown
}
