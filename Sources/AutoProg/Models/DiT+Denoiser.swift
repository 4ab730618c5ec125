/// A DiT is the diffusion process's noise predictor: ε̂ (plus the variance values when
/// `learnSigma`) from x_t, t and the labels. Its null class is `classes` when the label
/// table has the null row (class dropout > 0) and nil otherwise; such a DiT needs labels
/// for every image (it cannot run unconditionally, so guidance cannot use it).
extension DiT: Denoiser {
    public var imageChannels: Int { configuration.channels }
    public var learnsSigma: Bool { configuration.learnSigma }

    public func denoise(_ x: Tensor, timesteps: Tensor, labels: [Int]?) throws -> Tensor {
        try forward(x, timesteps: timesteps, labels: labels)
    }
}

/// Samplers default to (and check against) the configured image size; training at other
/// resolutions (AutoProg-Zero) calls the model directly.
extension DiT: FixedSizeDenoiser {
    public var inputSize: Int { configuration.imageSize }
}
