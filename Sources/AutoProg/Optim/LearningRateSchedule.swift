import Foundation

/// A learning rate as a pure function of the global optimizer step (0-based: `step` is
/// the index of the update about to be applied).
///
/// Being pure, a schedule carries no state beyond its configuration: resuming at step N
/// is `learningRate(at: N)`. `configuration` is that configuration as a string map for
/// checkpoint metadata; `makeLearningRateSchedule(from:)` rebuilds the schedule.
/// Warm-ups follow Hugging Face transformers' `get_*_schedule_with_warmup` (the factor
/// is step / warmupSteps, so update 0 uses learning rate 0, as with timm's default
/// `warmup_lr_init=0`).
public protocol LearningRateSchedule {
    func learningRate(at step: Int) -> Float
    /// Type and parameters, each value a decimal that reads back exactly.
    var configuration: [String: String] { get }
}

/// Rebuilds a schedule saved with `configuration`.
public func makeLearningRateSchedule(from configuration: [String: String]) throws -> any LearningRateSchedule {
    var r = MetadataReader(configuration)
    let type = r.string("type")
    let schedule: (any LearningRateSchedule)?
    switch type {
    case "constant":
        schedule = r.float("base_lr").map(ConstantSchedule.init(learningRate:))
    case "constant_with_warmup":
        let base = r.float("base_lr"), warmup = r.int("warmup_steps")
        schedule = try base.flatMap { b in try warmup.map { try ConstantWithWarmupSchedule(baseLearningRate: b, warmupSteps: $0) } }
    case "linear":
        let base = r.float("base_lr"), total = r.int("total_steps"), warmup = r.int("warmup_steps")
        let end = r.float("end_factor")
        if let base, let total, let warmup, let end {
            schedule = try LinearSchedule(baseLearningRate: base, totalSteps: total, warmupSteps: warmup, endFactor: end)
        } else {
            schedule = nil
        }
    case "cosine":
        let base = r.float("base_lr"), total = r.int("total_steps"), warmup = r.int("warmup_steps")
        let low = r.float("min_lr")
        if let base, let total, let warmup, let low {
            schedule = try CosineSchedule(baseLearningRate: base, totalSteps: total, warmupSteps: warmup,
                                          minLearningRate: low)
        } else {
            schedule = nil
        }
    case nil:
        schedule = nil
    case let other?:
        r.problems.append("unknown schedule type \"\(other)\"")
        schedule = nil
    }
    guard r.problems.isEmpty, let schedule else { throw OptimizerError("makeLearningRateSchedule", r.problems) }
    return schedule
}

/// The warm-up factor step / warmupSteps, or nil once warm-up is over.
private func warmupFactor(_ step: Int, _ warmupSteps: Int) -> Double? {
    step < warmupSteps ? Double(step) / Double(max(1, warmupSteps)) : nil
}

private func checkWarmup(_ component: String, totalSteps: Int, warmupSteps: Int) throws {
    guard warmupSteps >= 0, totalSteps >= 1, warmupSteps <= totalSteps else {
        throw OptimizerError(component, "need 0 ≤ warmupSteps (\(warmupSteps)) ≤ totalSteps (\(totalSteps)) and totalSteps ≥ 1")
    }
}

/// A fixed learning rate (`torch.optim.lr_scheduler.ConstantLR` with factor 1).
public struct ConstantSchedule: LearningRateSchedule {
    public let learningRate: Float

    public init(learningRate: Float) { self.learningRate = learningRate }

    public func learningRate(at step: Int) -> Float { learningRate }

    public var configuration: [String: String] { ["type": "constant", "base_lr": learningRate.description] }
}

/// Linear warm-up from 0 to the base rate, then constant
/// (transformers' `get_constant_schedule_with_warmup`).
public struct ConstantWithWarmupSchedule: LearningRateSchedule {
    public let baseLearningRate: Float
    public let warmupSteps: Int

    public init(baseLearningRate: Float, warmupSteps: Int) throws {
        guard warmupSteps >= 0 else { throw OptimizerError("ConstantWithWarmupSchedule", "warmupSteps must be ≥ 0") }
        self.baseLearningRate = baseLearningRate
        self.warmupSteps = warmupSteps
    }

    public func learningRate(at step: Int) -> Float {
        Float(baseLearningRate.decimalDouble * (warmupFactor(step, warmupSteps) ?? 1))
    }

    public var configuration: [String: String] {
        ["type": "constant_with_warmup", "base_lr": baseLearningRate.description, "warmup_steps": String(warmupSteps)]
    }
}

/// Linear warm-up from 0, then linear decay from the base rate to
/// `endFactor`·base at `totalSteps`, constant after (transformers'
/// `get_linear_schedule_with_warmup` when endFactor = 0).
public struct LinearSchedule: LearningRateSchedule {
    public let baseLearningRate: Float
    public let totalSteps: Int
    public let warmupSteps: Int
    public let endFactor: Float

    public init(baseLearningRate: Float, totalSteps: Int, warmupSteps: Int = 0, endFactor: Float = 0) throws {
        try checkWarmup("LinearSchedule", totalSteps: totalSteps, warmupSteps: warmupSteps)
        guard endFactor >= 0 else { throw OptimizerError("LinearSchedule", "endFactor must be ≥ 0") }
        self.baseLearningRate = baseLearningRate
        self.totalSteps = totalSteps
        self.warmupSteps = warmupSteps
        self.endFactor = endFactor
    }

    public func learningRate(at step: Int) -> Float {
        let base = baseLearningRate.decimalDouble
        if let w = warmupFactor(step, warmupSteps) { return Float(base * w) }
        let remaining = max(0, Double(totalSteps - step) / Double(max(1, totalSteps - warmupSteps)))
        let end = endFactor.decimalDouble
        return Float(base * (end + (1 - end) * remaining))
    }

    public var configuration: [String: String] {
        ["type": "linear", "base_lr": baseLearningRate.description, "total_steps": String(totalSteps),
         "warmup_steps": String(warmupSteps), "end_factor": endFactor.description]
    }
}

/// Linear warm-up from 0, then a half cosine from the base rate down to
/// `minLearningRate` at `totalSteps`, constant after (transformers'
/// `get_cosine_with_min_lr_schedule_with_warmup`; with min 0, `get_cosine_schedule_with_warmup`;
/// timm's `CosineLRScheduler` with t_in_epochs=False and warmup_lr_init=0).
///
/// After `totalSteps` the rate stays at the minimum (transformers' formula would climb
/// back up).
public struct CosineSchedule: LearningRateSchedule {
    public let baseLearningRate: Float
    public let totalSteps: Int
    public let warmupSteps: Int
    public let minLearningRate: Float

    public init(baseLearningRate: Float, totalSteps: Int, warmupSteps: Int = 0, minLearningRate: Float = 0) throws {
        try checkWarmup("CosineSchedule", totalSteps: totalSteps, warmupSteps: warmupSteps)
        self.baseLearningRate = baseLearningRate
        self.totalSteps = totalSteps
        self.warmupSteps = warmupSteps
        self.minLearningRate = minLearningRate
    }

    public func learningRate(at step: Int) -> Float {
        let base = baseLearningRate.decimalDouble, low = minLearningRate.decimalDouble
        if let w = warmupFactor(step, warmupSteps) { return Float(base * w) }
        let progress = min(1, Double(step - warmupSteps) / Double(max(1, totalSteps - warmupSteps)))
        return Float(low + (base - low) * 0.5 * (1 + cos(Double.pi * progress)))
    }

    public var configuration: [String: String] {
        ["type": "cosine", "base_lr": baseLearningRate.description, "total_steps": String(totalSteps),
         "warmup_steps": String(warmupSteps), "min_lr": minLearningRate.description]
    }
}
