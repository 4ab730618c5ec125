extension GaussianDiffusion {
    /// DDIM inversion (`ddim_reverse_sample_loop`): runs the deterministic DDIM ODE
    /// forwards from clean images x_0 [N, C, H, W] in [−1, 1] to x_T, so that decoding
    /// the result with DDIM (η = 0, same spacing and guidance) reconstructs them.
    /// `options.sampler` must be DDIM with η = 0.
    public func encode(model: any Denoiser, images: Tensor, labels: [Int]?, options: SamplingOptions) throws -> Tensor {
        guard options.sampler == .ddim(eta: 0) else {
            throw DiffusionError("DDIM inversion needs the ddim sampler with eta = 0 (got \(options.sampler.name))")
        }
        let streams = GaussianDiffusion.imageStreams(seed: options.seed, count: images.shape.first ?? 0)
        return try run(model: model, images: images, labels: labels, options: options, streams: streams,
                       context: "encode", ascending: true) { process, x, i, labels, _, variance in
            let t = [Int](repeating: i, count: x.shape[0])
            let output = try process.guidedOutput(model, x, timesteps: t, labels: labels, scale: options.guidanceScale)
            let p = try process.prediction(from: output, x: x, timesteps: t, variance: variance,
                                           clipDenoised: options.clipDenoised)
            let epsilon = try process.predictEpsilon(x, timesteps: t, x0: p.predictedX0)
            let alphaBarNext = process.schedule.alphasCumprodNext[i]
            return try p.predictedX0 * Float(alphaBarNext.squareRoot()) + epsilon * Float((1 - alphaBarNext).squareRoot())
        }
    }
}
