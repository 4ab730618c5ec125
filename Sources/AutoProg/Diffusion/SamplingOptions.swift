/// The reverse-process samplers.
public enum SamplerKind: Sendable, Equatable {
    /// Ancestral sampling (`p_sample_loop`): x_{t−1} ~ N(μ_θ, σ²) with the diffusion's
    /// variance (fixed small/large or learned).
    case ddpm
    /// DDIM (`ddim_sample_loop`, Song et al. eq. 12) with stochasticity η ∈ [0, 1]:
    /// η = 0 is the deterministic sampler, η = 1 matches DDPM's posterior variance.
    case ddim(eta: Float)

    /// "ddpm" or "ddim" (with `eta`).
    public static func named(_ name: String, eta: Float = 0) throws -> SamplerKind {
        switch name {
        case "ddpm": return .ddpm
        case "ddim": return .ddim(eta: eta)
        default: throw DiffusionError("unknown sampler \"\(name)\" (valid: ddpm, ddim)")
        }
    }

    public var name: String {
        switch self {
        case .ddpm: "ddpm"
        case .ddim: "ddim"
        }
    }
}

/// How to sample: the sampler, its steps, guidance, clipping, seed and chunking.
public struct SamplingOptions {
    public var sampler: SamplerKind
    /// Timestep respacing ("50", "ddim50", "10,20"; `TimestepRespacing`), or nil for
    /// every step of the diffusion.
    public var spacing: String?
    /// Classifier-free guidance scale s ≥ 0: ε = ε_u + s·(ε_c − ε_u). 1 is plain
    /// conditional sampling (one forward per step), 0 unconditional.
    public var guidanceScale: Float
    /// Clip each x̂_0 to [−1, 1] (ADM's `clip_denoised`; right for pixel images).
    public var clipDenoised: Bool
    /// Seeds the sampler's own random streams (never the global ones): image i of a call
    /// draws its x_T and step noise from stream (seed, i), so an image does not depend
    /// on how many are sampled with it or on `batchSize`.
    public var seed: UInt64
    /// Images per model batch (doubled internally under guidance).
    public var batchSize: Int
    /// Called after every step with (steps done, total steps) over all batches; it may
    /// throw to stop sampling.
    public var progress: ((_ done: Int, _ total: Int) throws -> Void)?

    public init(sampler: SamplerKind = .ddim(eta: 0), spacing: String? = nil, guidanceScale: Float = 1,
                clipDenoised: Bool = true, seed: UInt64 = 0, batchSize: Int = 32,
                progress: ((Int, Int) throws -> Void)? = nil) {
        self.sampler = sampler
        self.spacing = spacing
        self.guidanceScale = guidanceScale
        self.clipDenoised = clipDenoised
        self.seed = seed
        self.batchSize = batchSize
        self.progress = progress
    }

    /// Rejects settings no sampler can use.
    func validate() throws {
        guard guidanceScale.isFinite, guidanceScale >= 0 else {
            throw DiffusionError("guidance scale (cfg) must be ≥ 0, got \(guidanceScale)")
        }
        if case .ddim(let eta) = sampler, !(eta >= 0 && eta <= 1) {
            throw DiffusionError("DDIM eta must be in [0, 1], got \(eta)")
        }
        guard batchSize > 0 else { throw DiffusionError("sampling batch size must be > 0, got \(batchSize)") }
    }
}

/// A denoiser that only takes one image size (a DiT: its position embedding fixes the
/// patch grid). Samplers check requested sizes against it and use it as the default.
public protocol FixedSizeDenoiser: Denoiser {
    /// Height and width of the images the network takes (DiT's `input_size`).
    var inputSize: Int { get }
}

/// The value range diffusion works in: images in [−1, 1]. Datasets (Fashion-MNIST,
/// PNGs) load in [0, 1] and PNG writers expect [0, 1].
public enum DiffusionImageRange {
    /// [0, 1] → [−1, 1]: x·2 − 1 (differentiable).
    public static func toModel(_ x: Tensor) throws -> Tensor { try x * 2 - 1 }

    /// [−1, 1] → [0, 1]: (x + 1)/2, clamped to [0, 1] (for saving and grids).
    public static func toUnit(_ x: Tensor) throws -> Tensor { try ((x + 1) * 0.5).clamped(min: 0, max: 1) }
}
