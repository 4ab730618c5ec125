import Foundation

/// The elastic supernet of AutoProg-One (§3.2): a ViT whose first `baseDepth` blocks (the
/// current sub-network) were grown by Interpolation to the largest candidate depth. The
/// interpolated copies are the optional blocks, switched on from the output end first, so
/// the sub-network of depth l runs every original block plus the l − baseDepth copies
/// nearest the output, in stack order, at its patch grid n (`activeBlocks`, `activeGrid`).
///
/// Weight nesting: every sub-network's weights — its blocks, and the shared embeddings,
/// norm and head — are exactly a subset of the supernet's (see `extract`).
public final class Supernet {
    public let model: VisionTransformer
    /// Depth of the sub-network the supernet was grown from: blocks whose source it was
    /// are the originals.
    public let baseDepth: Int
    public let candidates: [SubNetwork]
    /// The largest grid and the largest depth of the candidates: the whole supernet.
    public let largest: SubNetwork
    /// Positions of the interpolated copies in the grown stack, nearest the output first
    /// (the order they are switched on in).
    public let optionalBlocks: [Int]
    /// The sub-network running now (`activate`).
    public private(set) var active: SubNetwork?

    public init(model: VisionTransformer, baseDepth: Int, candidates: [SubNetwork]) throws {
        let c = model.configuration
        guard !candidates.isEmpty else { throw TensorError("supernet", "needs at least one candidate sub-network") }
        let largest = SubNetwork(grid: candidates.map(\.grid).max()!, depth: candidates.map(\.depth).max()!)
        guard baseDepth >= 1, baseDepth <= largest.depth, largest.depth <= c.depth else {
            throw TensorError("supernet", "cannot grow depth \(baseDepth) to \(largest.depth) in a model of \(c.depth) blocks")
        }
        for s in candidates where s.depth < baseDepth || s.grid < 1 || s.grid > c.gridSize {
            throw TensorError("supernet", "candidate \(s) does not fit: depths run from the base depth \(baseDepth) to \(c.depth), grids from 1 to \(c.gridSize)")
        }
        self.model = model
        self.baseDepth = baseDepth
        self.candidates = candidates
        self.largest = largest
        let mapping = GrowthOperator.interpolationMapping(baseDepth, largest.depth)
        optionalBlocks = GrowthOperator.copyPositions(mapping).sorted(by: >)
    }

    /// The blocks the sub-network of `depth` runs, in order.
    public func blocks(depth: Int) throws -> [Int] {
        guard depth >= baseDepth, depth <= largest.depth else {
            throw TensorError("supernet", "depth \(depth) is outside the supernet's \(baseDepth)...\(largest.depth)")
        }
        let on = Set(optionalBlocks.prefix(depth - baseDepth)), optional = Set(optionalBlocks)
        return (0..<largest.depth).filter { !optional.contains($0) || on.contains($0) }
    }

    /// Grows the model in place into the supernet: block i of the largest depth ← block
    /// mapping[i] of the first `baseDepth` (Interpolation of the online weights; each
    /// momentum copy of `ema` from itself). A trainer grows by its operator instead
    /// (MoGrow from the momentum copies, `ProgController.grow`).
    public func grow(ema: EMA? = nil) throws {
        let mapping = GrowthOperator.interpolationMapping(baseDepth, largest.depth)
        try ProgController.remapBlocks(of: model, mapping, ema: ema, online: .keepingMomentum)
    }

    /// Runs `s`: its blocks at its grid. Only its blocks learn (with the shared embeddings,
    /// norm and head), so a sampled step leaves the others' weights and optimizer state alone.
    public func activate(_ s: SubNetwork) throws {
        guard s.grid >= 1, s.grid <= model.configuration.gridSize else {
            throw TensorError("supernet", "grid \(s.grid) is outside 1...\(model.configuration.gridSize)")
        }
        let on = try blocks(depth: s.depth)
        model.activeBlocks = on == Array(0..<model.blocks.count) ? nil : on
        model.activeGrid = s.grid == model.configuration.gridSize ? nil : s.grid
        let learnable = Set(on)
        for (i, block) in model.blocks.items.enumerated() { block.setRequiresGrad(learnable.contains(i)) }
        active = s
    }

    /// One candidate, uniformly.
    public func sample(_ random: inout RandomStream) -> SubNetwork {
        candidates[random.nextInt(below: candidates.count)]
    }

    /// A standalone ViT of `s.depth` blocks running at grid `s.grid`: block i is the
    /// supernet's block `blocks(depth:)[i]`, everything else the supernet's own, from the
    /// model's weights or `weights` (a state dict of it, e.g. a momentum copy). Leaves the
    /// global random streams as they were.
    public func extract(_ s: SubNetwork, weights: StateDict? = nil) throws -> VisionTransformer {
        let on = try blocks(depth: s.depth)
        var configuration = model.configuration
        configuration.depth = s.depth
        let saved = Random.state
        defer { Random.restore(saved) }
        let sub = try VisionTransformer(configuration)
        for (i, source) in on.enumerated() where model.blocks[source].reZero != nil { try sub.blocks[i].enableReZero(value: 0) }
        var state = StateDict()
        for (key, value) in ProgController.remap(weights ?? model.stateDict(), mapping: on) {
            if key.hasPrefix("blocks."), let i = Int(key.dropFirst(7).prefix { $0 != "." }), i >= s.depth { continue }
            state[key] = value.clone()
        }
        try sub.load(state)
        sub.activeGrid = s.grid == configuration.gridSize ? nil : s.grid
        sub.train(model.isTraining)
        return sub
    }

    /// Loss and top-1 of `s` on `data` (eval mode, no gradients, no augmentation), with the
    /// weights of `ema`'s copy 0 when given; the model's state is as before afterwards.
    public func evaluate(_ s: SubNetwork, on data: Dataset, indices: [Int]? = nil, batchSize: Int = 256,
                         ema: EMA? = nil) throws -> Evaluation {
        let indices = indices ?? Array(0..<data.count)
        guard !indices.isEmpty, batchSize > 0 else { throw TensorError("supernet", "nothing to evaluate on") }
        return try preservingState {
            try activate(s)
            model.eval()
            let measure = { () throws -> Evaluation in
                try Autograd.withoutGradients {
                    var lossSum = 0.0, correct = 0
                    for start in stride(from: 0, to: indices.count, by: batchSize) {
                        let batch = try data.batch(Array(indices[start..<min(start + batchSize, indices.count)]))
                        let logits = try self.model(batch.images)
                        lossSum += Double(try crossEntropy(logits, targets: batch.labels).item()) * Double(batch.labels.count)
                        correct += zip(try logits.argmax(axis: -1), batch.labels).filter { $0 == $1 }.count
                    }
                    return Evaluation(loss: lossSum / Double(indices.count), top1: 100 * Double(correct) / Double(indices.count),
                                      count: indices.count)
                }
            }
            return try ema.map { try $0.swapped(decayIndex: 0, measure) } ?? measure()
        }
    }

    /// Steady-state training step time of `s`, in seconds: forward and backward of `batch`
    /// in training mode, `warmup` steps untimed, then the fastest of `timed` ones
    /// (`measureStepTime`). No optimizer step, so the weights do not change; the gradients
    /// are cleared and the random streams (drop-path draws) restored afterwards.
    public func stepTime(_ s: SubNetwork, batch: Batch, warmup: Int = 2, timed: Int = 3) throws -> Double {
        guard timed >= 1, warmup >= 0 else { throw TensorError("supernet", "need at least one timed step") }
        let random = Random.state
        defer {
            Random.restore(random)
            model.zeroGrad()
        }
        return try preservingState {
            try activate(s)
            model.train()
            return try measureStepTime(warmup: warmup, timed: timed) {
                try crossEntropy(model(batch.images), targets: batch.labels).backward()
            }
        }
    }

    /// Runs `body` and puts back the sub-network, train/eval mode and learnable blocks.
    private func preservingState<R>(_ body: () throws -> R) throws -> R {
        let blocks = model.activeBlocks, grid = model.activeGrid, training = model.isTraining, current = active
        let learnable = model.blocks.items.map { $0.parameters.first?.requiresGrad ?? false }
        defer {
            model.activeBlocks = blocks
            model.activeGrid = grid
            model.train(training)
            active = current
            for (block, on) in zip(model.blocks.items, learnable) { block.setRequiresGrad(on) }
        }
        return try body()
    }
}
