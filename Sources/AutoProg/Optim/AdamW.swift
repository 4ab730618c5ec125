import CKernels
import Foundation

/// Adam with decoupled weight decay (`torch.optim.AdamW`, single-tensor CPU path,
/// amsgrad=False), as one fused pass over the packed parameter buffer.
///
/// The parameters are packed (`ParameterPacking.pack`) when the optimizer is built;
/// `exp_avg` and `exp_avg_sq` are flat buffers shadowing that layout, so each step runs
/// one C kernel per contiguous run of parameters sharing the same decay flag and step
/// count, split across threads, with bias corrections hoisted out of the loop.
///
/// Like torch, each parameter has its own step count (`state[p]["step"]`): a parameter
/// frozen with `requiresGrad = false` is skipped and keeps its state, and one unfrozen
/// later starts its bias correction from step 1. If the parameters are re-packed into a
/// new buffer (all of them together), the state follows them on the next step; after
/// growth adds parameters, build a new optimizer.
public final class AdamW: Optimizer {
    public let parameters: [Parameter]
    public var learningRate: Float
    public var betas: (Float, Float)
    public var epsilon: Float
    public var weightDecay: Float
    /// Per parameter: whether decoupled weight decay applies (from the `WeightDecayFilter`).
    public let decaysWeight: [Bool]
    public private(set) var stepCount = 0
    /// Per parameter: updates applied so far; 0 means no state yet.
    public private(set) var parameterSteps: [Int]

    private var layout: PackedLayout
    private var state: FlatStateBuffers

    /// - Parameters:
    ///   - parameters: updated in this order (which is the order of the saved state).
    ///   - decayFilter: which parameters get weight decay; default rank ≥ 2 only.
    public init(parameters: [Parameter], learningRate: Float = 1e-3, betas: (Float, Float) = (0.9, 0.999),
                epsilon: Float = 1e-8, weightDecay: Float = 0.01, decayFilter: WeightDecayFilter = .matricesOnly) throws {
        try AdamW.validate(learningRate: learningRate, betas: betas, epsilon: epsilon, weightDecay: weightDecay)
        self.parameters = parameters
        self.learningRate = learningRate
        self.betas = betas
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        decaysWeight = parameters.enumerated().map { decayFilter.decays(String($0.offset), $0.element) }
        parameterSteps = Array(repeating: 0, count: parameters.count)
        ParameterPacking.pack(parameters)
        layout = try PackedLayout(parameters, component: "AdamW")
        state = FlatStateBuffers(names: ["exp_avg", "exp_avg_sq"], size: layout.size)
    }

    /// An optimizer over all of `model`'s parameters; the decay filter sees their dotted names.
    public convenience init(model: Module, learningRate: Float = 1e-3, betas: (Float, Float) = (0.9, 0.999),
                            epsilon: Float = 1e-8, weightDecay: Float = 0.01,
                            decayFilter: WeightDecayFilter = .matricesOnly) throws {
        let named = model.namedParameters()
        let flags = Dictionary(uniqueKeysWithValues: named.map { (ObjectIdentifier($0.1), decayFilter.decays($0.0, $0.1)) })
        try self.init(parameters: named.map(\.1), learningRate: learningRate, betas: betas, epsilon: epsilon,
                      weightDecay: weightDecay, decayFilter: WeightDecayFilter { _, p in flags[ObjectIdentifier(p)]! })
    }

    private static func validate(learningRate: Float, betas: (Float, Float), epsilon: Float, weightDecay: Float) throws {
        var problems: [String] = []
        if !(learningRate >= 0) { problems.append("invalid learning rate \(learningRate)") }
        if !(epsilon >= 0) { problems.append("invalid epsilon \(epsilon)") }
        if !(betas.0 >= 0 && betas.0 < 1) { problems.append("invalid beta1 \(betas.0) (need 0 ≤ beta1 < 1)") }
        if !(betas.1 >= 0 && betas.1 < 1) { problems.append("invalid beta2 \(betas.1) (need 0 ≤ beta2 < 1)") }
        if !(weightDecay >= 0) { problems.append("invalid weight decay \(weightDecay)") }
        if !problems.isEmpty { throw OptimizerError("AdamW", problems) }
    }

    public func step() throws {
        try followRepacking()
        stepCount += 1
        // Scalars per distinct (decay, step) pair, computed in double as torch does.
        let lr = learningRate.decimalDouble, b1 = betas.0.decimalDouble, b2 = betas.1.decimalDouble
        let decayFactor = Float(1 - lr * weightDecay.decimalDouble)
        var groupOf: [Int: Int] = [:]
        var scalars: [(decay: Float, stepSize: Float, bc2Sqrt: Float)] = []
        for (i, p) in parameters.enumerated() where p.requiresGrad { parameterSteps[i] += 1 }
        let segments = layout.segments { i in
            guard parameters[i].requiresGrad else { return nil }
            let t = parameterSteps[i], key = decaysWeight[i] ? t : -t
            if let g = groupOf[key] { return g }
            let bc1 = 1 - pow(b1, Double(t)), bc2 = 1 - pow(b2, Double(t))
            scalars.append((decaysWeight[i] ? decayFactor : 1, Float(lr / bc1), Float(bc2.squareRoot())))
            groupOf[key] = scalars.count - 1
            return scalars.count - 1
        }
        let w1 = Float(1 - b1), beta2 = betas.1, w2 = Float(1 - b2), eps = epsilon
        let p = layout.values.pointer, g = layout.grads.pointer, m = state.pointer(0), v = state.pointer(1)
        PackedLayout.forEachPiece(segments) { s, r in
            let c = scalars[s.group], o = r.lowerBound
            ck_adamw_step(r.count, p + o, g + o, m + o, v + o, w1, beta2, w2, eps, c.decay, c.stepSize, c.bc2Sqrt)
        }
    }

    public func zeroGrad() {
        let g = layout.grads.pointer
        for s in layout.segments({ _ in 0 }) { (g + s.start).update(repeating: 0, count: s.count) }
    }

    private func followRepacking() throws {
        if layout.isCurrent(for: parameters) { return }
        let new = try PackedLayout(parameters, component: "AdamW")
        state.remap(from: layout, to: new)
        layout = new
    }

    // MARK: State

    public func stateDict() -> SavedState {
        var tensors = StateDict()
        state.export(layout, shapes: parameters.map(\.shape), hasState: { parameterSteps[$0] > 0 }, into: &tensors)
        var metadata = [
            "type": "AdamW",
            "lr": learningRate.description,
            "betas": "\(betas.0),\(betas.1)",
            "eps": epsilon.description,
            "weight_decay": weightDecay.description,
            "step_count": String(stepCount),
            "parameter_count": String(parameters.count),
        ]
        for (i, t) in parameterSteps.enumerated() where t > 0 { metadata["\(i).step"] = String(t) }
        return SavedState(tensors: tensors, metadata: metadata)
    }

    public func load(_ saved: SavedState) throws {
        try followRepacking()
        var r = MetadataReader(saved.metadata)
        r.expectType("AdamW")
        let lr = r.float("lr"), betas = r.floats("betas"), eps = r.float("eps"), wd = r.float("weight_decay")
        let count = r.int("step_count"), n = r.int("parameter_count")
        if let n, n != parameters.count {
            r.problems.append("state is for \(n) parameters, this optimizer has \(parameters.count)")
        }
        if let betas, betas.count != 2 { r.problems.append("metadata \"betas\" must hold two numbers") }
        var steps = Array(repeating: 0, count: parameters.count)
        for i in parameters.indices where saved.metadata["\(i).step"] != nil {
            if let t = r.int("\(i).step") {
                if t > 0 { steps[i] = t } else { r.problems.append("metadata \"\(i).step\" must be positive") }
            }
        }
        let shapes = parameters.map(\.shape)
        var problems = r.problems
        problems += state.problems(loading: saved.tensors, shapes: shapes, hasState: { steps[$0] > 0 })
        guard problems.isEmpty, let lr, let betas, let eps, let wd, let count else {
            throw OptimizerError("AdamW.load", problems)
        }
        try AdamW.validate(learningRate: lr, betas: (betas[0], betas[1]), epsilon: eps, weightDecay: wd)
        learningRate = lr
        self.betas = (betas[0], betas[1])
        epsilon = eps
        weightDecay = wd
        stepCount = count
        parameterSteps = steps
        state.load(saved.tensors, layout, shapes: shapes, hasState: { steps[$0] > 0 })
    }
}
