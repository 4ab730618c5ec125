import AutoProg

/// A tensor as Lua holds it.
///
/// A module's parameter is held by reference to its `Parameter`, not by a copy of its
/// current value: optimizers re-pack parameters into one flat buffer when they are built,
/// so a tensor taken from `m:parameters()` earlier must follow the parameter to its new
/// storage (and report its live `.grad`).
final class TensorBox: LuaHostObject {
    static let luaTypeName = "autoprog.Tensor"

    enum Source {
        case value(Tensor)
        case parameter(Parameter)
    }

    var source: Source

    init(_ tensor: Tensor) { source = .value(tensor) }
    init(parameter: Parameter) { source = .parameter(parameter) }

    func tensor() -> Tensor {
        switch source {
        case .value(let t): return t
        case .parameter(let p): return p.value
        }
    }

    var parameter: Parameter? {
        if case .parameter(let p) = source { return p }
        return nil
    }

    /// The accumulated gradient (a parameter's gradient buffer while it is trainable).
    var grad: Tensor? {
        switch source {
        case .value(let t): return t.grad
        case .parameter(let p): return p.requiresGrad ? p.grad : nil
        }
    }

    var externalBytes: Int {
        if case .value(let t) = source { return t.count * 4 }
        return 0
    }
}

/// A layer or model.
final class ModuleBox: LuaHostObject {
    static let luaTypeName = "autoprog.Module"
    let module: Module
    init(_ module: Module) { self.module = module }
}

/// An optimizer, possibly not yet bound to parameters (`ap.optim.adamw{lr = 1e-3}` handed
/// to a training loop that binds it to the model it trains).
final class OptimizerBox: LuaHostObject {
    static let luaTypeName = "autoprog.Optimizer"
    /// "adamw" or "sgd".
    let kind: String
    /// The hyper-parameters given (validated), by Lua key.
    var settings: OptimizerSettings
    private(set) var optimizer: (any Optimizer)?

    init(kind: String, settings: OptimizerSettings) {
        self.kind = kind
        self.settings = settings
    }

    /// Builds the optimizer over `model`'s parameters (names feed the weight-decay filter)
    /// or over a parameter list.
    func bind(model: Module?, parameters: [Parameter]) throws {
        optimizer = try settings.make(kind: kind, model: model, parameters: parameters)
    }

    func bound(_ action: String) throws -> any Optimizer {
        guard let optimizer else {
            throw LuaBindingError("\(kind): \(action) needs parameters: build it with params = model (or a parameter list)")
        }
        return optimizer
    }
}

/// Validated optimizer hyper-parameters.
struct OptimizerSettings {
    var learningRate: Float?
    var betas: (Float, Float) = (0.9, 0.999)
    var epsilon: Float = 1e-8
    var weightDecay: Float?
    var momentum: Float = 0
    var dampening: Float = 0
    var nesterov = false

    func make(kind: String, model: Module?, parameters: [Parameter]) throws -> any Optimizer {
        switch kind {
        case "sgd":
            guard let lr = learningRate else { throw LuaBindingError("sgd: lr is required") }
            return try SGD(parameters: parameters, learningRate: lr, momentum: momentum, dampening: dampening,
                           weightDecay: weightDecay ?? 0, nesterov: nesterov)
        default:
            if let model {
                return try AdamW(model: model, learningRate: learningRate ?? 1e-3, betas: betas, epsilon: epsilon,
                                 weightDecay: weightDecay ?? 0.01)
            }
            return try AdamW(parameters: parameters, learningRate: learningRate ?? 1e-3, betas: betas, epsilon: epsilon,
                             weightDecay: weightDecay ?? 0.01)
        }
    }
}

/// A learning-rate schedule, possibly with the base rate or length left for a training
/// loop to fill in (`ap.sched.cosine{warmup = 5}`).
final class ScheduleBox: LuaHostObject {
    static let luaTypeName = "autoprog.Schedule"
    /// "constant", "cosine", "linear" or "warmup_constant".
    let kind: String
    let learningRate: Float?
    let totalSteps: Int?
    let warmupSteps: Int
    let minLearningRate: Float
    let endFactor: Float
    /// A schedule restored from its saved configuration (`ap.sched.load`).
    private(set) var restored: (any LearningRateSchedule)?

    init(restoring schedule: any LearningRateSchedule) {
        kind = schedule.configuration["type"] ?? "schedule"
        learningRate = nil
        totalSteps = nil
        warmupSteps = 0
        minLearningRate = 0
        endFactor = 0
        restored = schedule
    }

    init(kind: String, learningRate: Float?, totalSteps: Int?, warmupSteps: Int, minLearningRate: Float, endFactor: Float) {
        self.kind = kind
        self.learningRate = learningRate
        self.totalSteps = totalSteps
        self.warmupSteps = warmupSteps
        self.minLearningRate = minLearningRate
        self.endFactor = endFactor
    }

    /// The engine schedule, with `learningRate`/`totalSteps` defaulting to the given values
    /// (a training loop passes the optimizer's rate and the run's length).
    func resolve(defaultLearningRate: Float? = nil, defaultTotalSteps: Int? = nil) throws -> any LearningRateSchedule {
        if let restored { return restored }
        guard let lr = learningRate ?? defaultLearningRate else {
            throw LuaBindingError("ap.sched.\(kind): lr is not set (give lr = ...)")
        }
        switch kind {
        case "constant":
            return ConstantSchedule(learningRate: lr)
        case "warmup_constant":
            return try ConstantWithWarmupSchedule(baseLearningRate: lr, warmupSteps: warmupSteps)
        default:
            guard let total = totalSteps ?? defaultTotalSteps else {
                throw LuaBindingError("ap.sched.\(kind): total is not set (give total = number of steps)")
            }
            if kind == "linear" {
                return try LinearSchedule(baseLearningRate: lr, totalSteps: total, warmupSteps: warmupSteps, endFactor: endFactor)
            }
            return try CosineSchedule(baseLearningRate: lr, totalSteps: total, warmupSteps: warmupSteps,
                                      minLearningRate: minLearningRate)
        }
    }
}

/// Exponential moving averages of a model's parameters.
final class EMABox: LuaHostObject {
    static let luaTypeName = "autoprog.EMA"
    let ema: EMA
    init(_ ema: EMA) { self.ema = ema }
}
