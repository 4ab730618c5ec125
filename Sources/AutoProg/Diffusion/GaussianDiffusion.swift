import Foundation

/// A Gaussian diffusion process over images in [−1, 1] (DDPM; improved-diffusion's and
/// DiT's `GaussianDiffusion` with ε-prediction): the forward process q(x_t | x_0), the
/// model's reverse step p(x_{t−1} | x_t) from its noise prediction, the training loss
/// (DiffusionLoss.swift) and the samplers (Samplers.swift) all hang off this value.
///
/// Data range: the process assumes images in [−1, 1] (the decoder likelihood bins them
/// as 8-bit values there and `clipDenoised` clips to it). Datasets load in [0, 1]; map
/// with `DiffusionImageRange.toModel` (x·2 − 1) before training and sampled images back
/// with `DiffusionImageRange.toUnit` before saving them.
///
/// A respaced process (`respaced("50")`) runs over a subset of the original steps with
/// its own βs, but calls the model with the ORIGINAL step numbers (`timestepMap`), as
/// `SpacedDiffusion`'s `_WrappedModel` does: the network only ever learned those.
public struct GaussianDiffusion: Sendable {
    /// How the reverse-step variance is chosen (ADM's `ModelVarType`).
    public enum Variance: String, CaseIterable, Sendable {
        /// The network's second C output channels v ∈ [−1, 1] interpolate the log variance
        /// between the posterior's β̃_t (v = −1) and β_t (v = 1) (Improved DDPM).
        case learnedRange = "learned_range"
        /// σ² = β_t (with β̃_1 at t = 0, for a better decoder likelihood).
        case fixedLarge = "fixed_large"
        /// σ² = β̃_t, the posterior variance.
        case fixedSmall = "fixed_small"

        public static func named(_ name: String) throws -> Variance {
            guard let v = Variance(rawValue: name) else {
                throw DiffusionError("unknown variance type \"\(name)\" (valid: \(allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            return v
        }
    }

    public let schedule: NoiseSchedule
    /// The original step number the model sees for each step of this process (0..<count
    /// unless respaced).
    public let timestepMap: [Int]
    /// Number of steps of the process the model was trained on.
    public let originalStepCount: Int
    /// The reverse-step variance, or nil to follow the model: learned range when it
    /// predicts a variance (`learnsSigma`), else fixed large (DiT's `create_diffusion`).
    public let variance: Variance?
    /// The named schedule this process came from, if any (for descriptions).
    public let scheduleKind: NoiseSchedule.Kind?
    /// The image side the schedule is for, or nil for every size alike. Images of another
    /// size train and sample with the SNR scaled to theirs (`adapted`, ResolutionShift.swift).
    public let scheduleSide: Int?

    /// A process over all steps of `schedule`.
    public init(schedule: NoiseSchedule, variance: Variance? = nil, scheduleKind: NoiseSchedule.Kind? = nil,
                scheduleSide: Int? = nil) {
        self.init(schedule: schedule, timestepMap: Array(0..<schedule.count), originalStepCount: schedule.count,
                  variance: variance, scheduleKind: scheduleKind, scheduleSide: scheduleSide)
    }

    /// A named schedule of `steps` steps (DiT: linear, 1000).
    public init(_ kind: NoiseSchedule.Kind = .linear, steps: Int = 1000, variance: Variance? = nil,
                scheduleSide: Int? = nil) throws {
        self.init(schedule: try NoiseSchedule(kind, steps: steps), variance: variance, scheduleKind: kind,
                  scheduleSide: scheduleSide)
    }

    init(schedule: NoiseSchedule, timestepMap: [Int], originalStepCount: Int, variance: Variance?,
         scheduleKind: NoiseSchedule.Kind?, scheduleSide: Int?) {
        self.schedule = schedule
        self.timestepMap = timestepMap
        self.originalStepCount = originalStepCount
        self.variance = variance
        self.scheduleKind = scheduleKind
        self.scheduleSide = scheduleSide
    }

    /// Number of steps T of this process.
    public var stepCount: Int { schedule.count }

    /// This process restricted to the steps `specification` keeps ("50", "ddim50",
    /// "10,20"; see `TimestepRespacing`).
    public func respaced(_ specification: String) throws -> GaussianDiffusion {
        try respaced(keeping: TimestepRespacing.timesteps(specification, of: stepCount))
    }

    /// This process restricted to the given increasing steps (of this process).
    public func respaced(keeping kept: [Int]) throws -> GaussianDiffusion {
        GaussianDiffusion(schedule: try schedule.respaced(keeping: kept), timestepMap: kept.map { timestepMap[$0] },
                          originalStepCount: originalStepCount, variance: variance, scheduleKind: scheduleKind,
                          scheduleSide: scheduleSide)
    }

    /// Sampling over `steps` evenly spaced steps (section count "steps"); the process
    /// itself when `steps` is its own length.
    public func respaced(steps: Int) throws -> GaussianDiffusion {
        guard steps > 0 else { throw DiffusionError("sampling needs steps > 0, got \(steps)") }
        guard steps <= stepCount else {
            throw DiffusionError("cannot sample in \(steps) steps from a process of \(stepCount) steps")
        }
        return steps == stepCount ? self : try respaced(keeping: TimestepRespacing.timesteps(sectionCounts: [steps], of: stepCount))
    }

    // MARK: Forward process

    /// x_t = √ᾱ_t·x_0 + √(1 − ᾱ_t)·ε for each image's step t (`q_sample`, with the ᾱ of
    /// the process adapted to the images' size); differentiable in x_0 and ε.
    public func qSample(_ x0: Tensor, timesteps t: [Int], noise: Tensor) throws -> Tensor {
        guard scheduleSide == nil else { return try adapted(to: x0).qSample(x0, timesteps: t, noise: noise) }
        guard x0.rank >= 1, x0.shape[0] == t.count else {
            throw DiffusionError("q_sample: \(t.count) timesteps for x0 of shape \(x0.shape) (one per image)")
        }
        guard noise.shape == x0.shape else {
            throw DiffusionError("q_sample: noise of shape \(noise.shape) differs from x0 of shape \(x0.shape)")
        }
        try checkSteps(t, "q_sample")
        return try coefficient(schedule.sqrtAlphasCumprod, t, like: x0) * x0
            + coefficient(schedule.sqrtOneMinusAlphasCumprod, t, like: x0) * noise
    }

    /// The posterior q(x_{t−1} | x_t, x_0): its mean and its clipped log variance
    /// (`q_posterior_mean_variance`).
    public func posterior(x0: Tensor, xt: Tensor, timesteps t: [Int]) throws -> (mean: Tensor, logVariance: Tensor) {
        let mean = try coefficient(schedule.posteriorMeanCoef1, t, like: xt) * x0
            + coefficient(schedule.posteriorMeanCoef2, t, like: xt) * xt
        return (mean, coefficient(schedule.posteriorLogVarianceClipped, t, like: xt))
    }

    /// Every t must be a step of this process.
    func checkSteps(_ t: [Int], _ context: String) throws {
        if let bad = t.first(where: { $0 < 0 || $0 >= stepCount }) {
            throw DiffusionError("\(context): timestep \(bad) is outside 0..<\(stepCount)")
        }
    }

    /// `values[t_b]` as a float32 tensor [B, 1, …, 1] that broadcasts against `x`
    /// (`_extract_into_tensor`: looked up in Float64, then rounded).
    func coefficient(_ values: [Double], _ t: [Int], like x: Tensor) -> Tensor {
        let shape = [t.count] + [Int](repeating: 1, count: Swift.max(x.rank - 1, 0))
        let out = Tensor(uninitializedShape: shape)
        for (b, step) in t.enumerated() { out.pointer[b] = Float(values[step]) }
        return out
    }

    // MARK: The model

    /// The variance the reverse step uses with `model`.
    public func variance(for model: any Denoiser) throws -> Variance {
        guard let variance else { return model.learnsSigma ? .learnedRange : .fixedLarge }
        if variance == .learnedRange && !model.learnsSigma {
            throw DiffusionError("the diffusion learns the variance (learn_sigma) but the model predicts only ε (\(model.imageChannels) output channels); give it learn_sigma = false or a model that learns sigma")
        }
        return variance
    }

    /// Checks that `x` is [B, C, H, W] with the model's C, and that labels fit the model:
    /// one per image, each a class id or the null class (0...nullClass).
    func validate(_ x: Tensor, _ name: String, model: any Denoiser, labels: [Int]?, context: String) throws {
        guard x.rank == 4, x.shape[0] > 0 else {
            throw DiffusionError("\(context): \(name) of shape \(x.shape) must be images [B, C, H, W] with B > 0")
        }
        guard x.shape[1] == model.imageChannels else {
            throw DiffusionError("\(context): \(name) has \(x.shape[1]) channels (shape \(x.shape)) but the model takes \(model.imageChannels)")
        }
        try validate(labels: labels, count: x.shape[0], model: model, context: context)
    }

    func validate(labels: [Int]?, count: Int, model: any Denoiser, context: String) throws {
        guard let labels else { return }
        guard let null = model.nullClass else {
            throw DiffusionError("\(context): the model is unconditional (it takes no class labels) but labels were given")
        }
        guard labels.count == count else {
            throw DiffusionError("\(context): \(labels.count) labels for \(count) images")
        }
        if let bad = labels.firstIndex(where: { $0 < 0 || $0 > null }) {
            throw DiffusionError("\(context): class \(labels[bad]) (image \(bad)) is unknown: the model has \(null) classes (0..<\(null), and \(null) for none)")
        }
    }

    /// The model's output for x_t at steps `t` of this process: the model sees the
    /// original step numbers. Checks the output is [B, C or 2C, H, W] as it declares.
    func modelOutput(_ model: any Denoiser, _ x: Tensor, timesteps t: [Int], labels: [Int]?) throws -> Tensor {
        let steps = Tensor(t.map { Float(timestepMap[$0]) })
        let out = try model.denoise(x, timesteps: steps, labels: labels)
        var expected = x.shape
        expected[1] *= model.learnsSigma ? 2 : 1
        guard out.shape == expected else {
            throw DiffusionError("the model returned \(out.shape) for input \(x.shape); expected \(expected) (\(model.learnsSigma ? "ε and the variance values" : "ε"))")
        }
        return out
    }

    /// What the reverse step p(x_{t−1} | x_t) is, from the model's output
    /// (`p_mean_variance` for ε-prediction).
    struct Prediction {
        /// The model's ε̂ (the first C output channels).
        let epsilon: Tensor
        /// x̂_0 = x_t/√ᾱ_t − √(1/ᾱ_t − 1)·ε̂, clipped to [−1, 1] when asked.
        let predictedX0: Tensor
        /// The posterior mean at x̂_0.
        let mean: Tensor
        /// log σ², [B, C, H, W] when learned, else [B, 1, 1, 1].
        let logVariance: Tensor
    }

    func prediction(from output: Tensor, x: Tensor, timesteps t: [Int], variance: Variance,
                    clipDenoised: Bool) throws -> Prediction {
        let c = x.shape[1]
        let epsilon = output.shape[1] == c ? output : try output.sliced(axis: 1, 0..<c)
        let logVariance: Tensor
        switch variance {
        case .learnedRange:
            let v = try output.sliced(axis: 1, c..<(2 * c))
            let minLog = coefficient(schedule.posteriorLogVarianceClipped, t, like: x)
            let maxLog = coefficient(schedule.betas.map { Foundation.log($0) }, t, like: x)
            // v ∈ [−1, 1] spans [min_var, max_var]: log σ² = frac·log β + (1 − frac)·log β̃.
            let fraction = try (v + 1) / 2
            logVariance = try fraction * maxLog + (1 - fraction) * minLog
        case .fixedLarge:
            let large = [schedule.count > 1 ? schedule.posteriorVariance[1] : schedule.betas[0]] + schedule.betas.dropFirst()
            logVariance = coefficient(large.map { Foundation.log($0) }, t, like: x)
        case .fixedSmall:
            logVariance = coefficient(schedule.posteriorLogVarianceClipped, t, like: x)
        }
        var x0 = try predictX0(x, timesteps: t, epsilon: epsilon)
        if clipDenoised { x0 = try x0.clamped(min: -1, max: 1) }
        let mean = try posterior(x0: x0, xt: x, timesteps: t).mean
        return Prediction(epsilon: epsilon, predictedX0: x0, mean: mean, logVariance: logVariance)
    }

    /// x̂_0 from ε̂ (`_predict_xstart_from_eps`).
    func predictX0(_ x: Tensor, timesteps t: [Int], epsilon: Tensor) throws -> Tensor {
        try coefficient(schedule.sqrtRecipAlphasCumprod, t, like: x) * x
            - coefficient(schedule.sqrtRecipm1AlphasCumprod, t, like: x) * epsilon
    }

    /// ε from x̂_0 (`_predict_eps_from_xstart`): the ε consistent with a clipped x̂_0.
    func predictEpsilon(_ x: Tensor, timesteps t: [Int], x0: Tensor) throws -> Tensor {
        try (coefficient(schedule.sqrtRecipAlphasCumprod, t, like: x) * x - x0)
            / coefficient(schedule.sqrtRecipm1AlphasCumprod, t, like: x)
    }
}
