import CKernels

/// Stochastic gradient descent with optional momentum, dampening, weight decay and
/// Nesterov momentum, exactly as `torch.optim.SGD`:
///
///     d = g + weightDecay·p
///     buf = d on a parameter's first step, else momentum·buf + (1 − dampening)·d
///     d = nesterov ? d + momentum·buf : buf          (when momentum ≠ 0)
///     p −= lr·d
///
/// Weight decay here is L2 (added to the gradient), applied to every parameter as in
/// torch unless a `decayFilter` says otherwise. Frozen parameters are skipped and keep
/// their momentum buffer. One fused pass over the packed buffers, as for `AdamW`.
public final class SGD: Optimizer {
    public let parameters: [Parameter]
    public var learningRate: Float
    public var momentum: Float
    public var dampening: Float
    public var weightDecay: Float
    public var nesterov: Bool
    public let decaysWeight: [Bool]
    public private(set) var stepCount = 0
    /// Per parameter: whether its momentum buffer exists (it has been stepped with momentum).
    public private(set) var hasMomentumBuffer: [Bool]

    private var layout: PackedLayout
    private var state: FlatStateBuffers

    public init(parameters: [Parameter], learningRate: Float, momentum: Float = 0, dampening: Float = 0,
                weightDecay: Float = 0, nesterov: Bool = false, decayFilter: WeightDecayFilter = .all) throws {
        try SGD.validate(learningRate: learningRate, momentum: momentum, dampening: dampening,
                         weightDecay: weightDecay, nesterov: nesterov)
        self.parameters = parameters
        self.learningRate = learningRate
        self.momentum = momentum
        self.dampening = dampening
        self.weightDecay = weightDecay
        self.nesterov = nesterov
        decaysWeight = parameters.enumerated().map { decayFilter.decays(String($0.offset), $0.element) }
        hasMomentumBuffer = Array(repeating: false, count: parameters.count)
        ParameterPacking.pack(parameters)
        layout = try PackedLayout(parameters, component: "SGD")
        state = FlatStateBuffers(names: ["momentum_buffer"], size: layout.size)
    }

    private static func validate(learningRate: Float, momentum: Float, dampening: Float, weightDecay: Float,
                                 nesterov: Bool) throws {
        var problems: [String] = []
        if !(learningRate >= 0) { problems.append("invalid learning rate \(learningRate)") }
        if !(momentum >= 0) { problems.append("invalid momentum \(momentum)") }
        if !(weightDecay >= 0) { problems.append("invalid weight decay \(weightDecay)") }
        if !dampening.isFinite { problems.append("invalid dampening \(dampening)") }
        if nesterov && (momentum <= 0 || dampening != 0) {
            problems.append("Nesterov momentum requires a momentum and zero dampening")
        }
        if !problems.isEmpty { throw OptimizerError("SGD", problems) }
    }

    public func step() throws {
        if !layout.isCurrent(for: parameters) {
            let new = try PackedLayout(parameters, component: "SGD")
            state.remap(from: layout, to: new)
            layout = new
        }
        stepCount += 1
        let usesMomentum = momentum != 0
        // Groups: bit 0 = first momentum step, bit 1 = weight decay.
        let segments = layout.segments { i in
            guard parameters[i].requiresGrad else { return nil }
            return (usesMomentum && !hasMomentumBuffer[i] ? 1 : 0) | (decaysWeight[i] ? 2 : 0)
        }
        let lr = learningRate, mom = momentum, keep = Float(1 - dampening.decimalDouble)
        let wd = weightDecay, nest: Int32 = nesterov ? 1 : 0
        let p = layout.values.pointer, g = layout.grads.pointer
        let buf: UnsafeMutablePointer<Float>? = usesMomentum ? state.pointer(0) : nil
        PackedLayout.forEachPiece(segments) { s, r in
            let o = r.lowerBound
            let decay: Float = s.group & 2 != 0 ? wd : 0, first = Int32(s.group & 1)
            let b: UnsafeMutablePointer<Float>? = buf.map { $0 + o }
            ck_sgd_step(r.count, p + o, g + o, b, lr, mom, keep, decay, nest, first)
        }
        if usesMomentum {
            for (i, q) in parameters.enumerated() where q.requiresGrad { hasMomentumBuffer[i] = true }
        }
    }

    public func zeroGrad() {
        let g = layout.grads.pointer
        for s in layout.segments({ _ in 0 }) { (g + s.start).update(repeating: 0, count: s.count) }
    }

    // MARK: State

    public func stateDict() -> SavedState {
        var tensors = StateDict()
        state.export(layout, shapes: parameters.map(\.shape), hasState: { hasMomentumBuffer[$0] }, into: &tensors)
        return SavedState(tensors: tensors, metadata: [
            "type": "SGD",
            "lr": learningRate.description,
            "momentum": momentum.description,
            "dampening": dampening.description,
            "weight_decay": weightDecay.description,
            "nesterov": String(nesterov),
            "step_count": String(stepCount),
            "parameter_count": String(parameters.count),
        ])
    }

    public func load(_ saved: SavedState) throws {
        if !layout.isCurrent(for: parameters) {
            let new = try PackedLayout(parameters, component: "SGD")
            state.remap(from: layout, to: new)
            layout = new
        }
        var r = MetadataReader(saved.metadata)
        r.expectType("SGD")
        let lr = r.float("lr"), mom = r.float("momentum"), damp = r.float("dampening")
        let wd = r.float("weight_decay"), nest = r.bool("nesterov"), count = r.int("step_count")
        if let n = r.int("parameter_count"), n != parameters.count {
            r.problems.append("state is for \(n) parameters, this optimizer has \(parameters.count)")
        }
        // A momentum buffer is saved exactly for the parameters that have one (torch's state[i]).
        let has = parameters.indices.map { saved.tensors["\($0).momentum_buffer"] != nil }
        let shapes = parameters.map(\.shape)
        var problems = r.problems
        problems += state.problems(loading: saved.tensors, shapes: shapes, hasState: { has[$0] })
        guard problems.isEmpty, let lr, let mom, let damp, let wd, let nest, let count else {
            throw OptimizerError("SGD.load", problems)
        }
        try SGD.validate(learningRate: lr, momentum: mom, dampening: damp, weightDecay: wd, nesterov: nest)
        learningRate = lr
        momentum = mom
        dampening = damp
        weightDecay = wd
        nesterov = nest
        stepCount = count
        hasMomentumBuffer = has
        state.load(saved.tensors, layout, shapes: shapes, hasState: { has[$0] })
    }
}
