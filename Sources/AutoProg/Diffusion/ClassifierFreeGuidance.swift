extension GaussianDiffusion {
    /// The model's output at steps `t` with classifier-free guidance at `scale`
    /// (Ho & Salimans): the conditional and null-class halves run as one batch
    /// ([x; x] with labels [y; null]), then ε = ε_u + s·(ε_c − ε_u).
    ///
    /// Guidance applies to all C ε channels; the variance channels of a learned-sigma
    /// model come from the conditional half. (DiT's `forward_with_cfg` guides only the
    /// first 3 of its 4 latent channels — a choice kept there to reproduce the paper's
    /// numbers — and returns both halves' variance channels, of which `sample.py` keeps
    /// the conditional ones.) Scale 1 is exactly the conditional output and skips the
    /// null half, as DiT's `sample.py` does.
    func guidedOutput(_ model: any Denoiser, _ x: Tensor, timesteps t: [Int], labels: [Int]?,
                      scale: Float) throws -> Tensor {
        guard scale != 1, let labels else { return try modelOutput(model, x, timesteps: t, labels: labels) }
        guard let null = model.nullClass else {
            throw DiffusionError("classifier-free guidance (cfg = \(scale)) needs a class-conditional model with a null class")
        }
        let b = x.shape[0], c = model.imageChannels
        let both = try modelOutput(model, Tensor.concatenated([x, x], axis: 0), timesteps: t + t,
                                   labels: labels + [Int](repeating: null, count: b))
        let conditional = try both.sliced(axis: 0, 0..<b), unconditional = try both.sliced(axis: 0, b..<(2 * b))
        let epsC = try conditional.sliced(axis: 1, 0..<c), epsU = try unconditional.sliced(axis: 1, 0..<c)
        let epsilon = try epsU + (epsC - epsU) * scale
        guard model.learnsSigma else { return epsilon }
        return try Tensor.concatenated([epsilon, conditional.sliced(axis: 1, c..<(2 * c))], axis: 1)
    }
}
