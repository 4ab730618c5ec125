import Foundation

extension GaussianDiffusion {
    /// `count` images [count, C, height, width] in [−1, 1] from `model` (DDPM or DDIM over
    /// this process or the `options.spacing` respacing of it), labelled `labels` (one per
    /// image, 0-based; the null class for unconditional ones; nil for an unconditional
    /// model). Runs without gradients with the model in evaluation mode (restored after),
    /// in batches of `options.batchSize`, drawing only from its own seeded streams.
    public func sample(model: any Denoiser, count: Int, labels: [Int]?, height: Int, width: Int,
                       options: SamplingOptions) throws -> Tensor {
        guard count > 0 else { throw DiffusionError("sampling needs a positive number of images, got \(count)") }
        guard height > 0, width > 0 else { throw DiffusionError("image size \(height)×\(width) must be positive") }
        if let sized = model as? any FixedSizeDenoiser, sized.inputSize != height || sized.inputSize != width {
            throw DiffusionError("image size \(height)×\(width) does not match the model's \(sized.inputSize)×\(sized.inputSize)")
        }
        let c = model.imageChannels
        let noise = Tensor(uninitializedShape: [count, c, height, width])
        var streams = GaussianDiffusion.imageStreams(seed: options.seed, count: count)
        GaussianDiffusion.fillNormal(noise, from: &streams[...])
        return try run(model: model, images: noise, labels: labels, options: options, streams: streams, context: "sample") {
            process, x, t, labels, streams, variance in
            try process.reverseStep(model: model, x: x, step: t, labels: labels, streams: &streams,
                                    variance: variance, options: options)
        }
    }

    /// Runs the sampler from given x_T [N, C, H, W] (for DDIM η = 0 a deterministic map:
    /// `decode(encode(x_0)) ≈ x_0`); step noise, if any, comes from the seeded streams.
    public func decode(model: any Denoiser, noise: Tensor, labels: [Int]?, options: SamplingOptions) throws -> Tensor {
        var streams = GaussianDiffusion.imageStreams(seed: options.seed, count: noise.shape.first ?? 0)
        // Skip the draws `sample` spends on x_T, so decode(noise of sample) = sample.
        GaussianDiffusion.fillNormal(Tensor(uninitializedShape: noise.shape), from: &streams[...])
        return try run(model: model, images: noise, labels: labels, options: options, streams: streams, context: "decode") {
            process, x, t, labels, streams, variance in
            try process.reverseStep(model: model, x: x, step: t, labels: labels, streams: &streams,
                                    variance: variance, options: options)
        }
    }

    /// One sampling step from x_t at step `i` of this process to x_{i−1}.
    func reverseStep(model: any Denoiser, x: Tensor, step i: Int, labels: [Int]?, streams: inout ArraySlice<RandomStream>,
                     variance: Variance, options: SamplingOptions) throws -> Tensor {
        let t = [Int](repeating: i, count: x.shape[0])
        let output = try guidedOutput(model, x, timesteps: t, labels: labels, scale: options.guidanceScale)
        let p = try prediction(from: output, x: x, timesteps: t, variance: variance, clipDenoised: options.clipDenoised)
        switch options.sampler {
        case .ddpm:
            // No noise at the last step (t = 0): the sample is the mean.
            guard i > 0 else { return p.mean }
            let z = Tensor(uninitializedShape: x.shape)
            GaussianDiffusion.fillNormal(z, from: &streams)
            return try p.mean + (p.logVariance * 0.5).exp() * z
        case .ddim(let eta):
            let epsilon = try predictEpsilon(x, timesteps: t, x0: p.predictedX0)
            let alphaBar = schedule.alphasCumprod[i], alphaBarPrev = schedule.alphasCumprodPrev[i]
            let sigma = Double(eta) * ((1 - alphaBarPrev) / (1 - alphaBar)).squareRoot()
                * (1 - alphaBar / alphaBarPrev).squareRoot()
            let direction = Swift.max(0, 1 - alphaBarPrev - sigma * sigma).squareRoot()
            let mean = try p.predictedX0 * Float(alphaBarPrev.squareRoot()) + epsilon * Float(direction)
            guard i > 0, sigma > 0 else { return mean }
            let z = Tensor(uninitializedShape: x.shape)
            GaussianDiffusion.fillNormal(z, from: &streams)
            return try mean + z * Float(sigma)
        }
    }

    /// The loop shared by sampling, decoding and DDIM inversion: validates, respaces,
    /// switches the model to evaluation mode and gradients off, then walks the steps
    /// (descending, or ascending for `ascending`) batch by batch.
    func run(model: any Denoiser, images: Tensor, labels: [Int]?, options: SamplingOptions, streams: [RandomStream],
             context: String, ascending: Bool = false,
             step: (GaussianDiffusion, Tensor, Int, [Int]?, inout ArraySlice<RandomStream>, Variance) throws -> Tensor) throws -> Tensor {
        try options.validate()
        try validate(images, "images", model: model, labels: labels, context: context)
        if model.nullClass != nil && labels == nil {
            throw DiffusionError("\(context): the model is class-conditional; give one label per image (its null class \(model.nullClass!) for unconditional images)")
        }
        if options.guidanceScale != 1 && model.nullClass == nil {
            throw DiffusionError("\(context): classifier-free guidance (cfg = \(options.guidanceScale)) needs a class-conditional model")
        }
        let sized = try adapted(to: images)
        let process = try options.spacing.map { try sized.respaced($0) } ?? sized
        let variance = try process.variance(for: model)
        let n = images.shape[0], size = options.batchSize
        let batches = (n + size - 1) / size, steps = process.stepCount
        let order = ascending ? Array(0..<steps) : Array((0..<steps).reversed())
        var results: [Tensor] = []
        var done = 0
        try GaussianDiffusion.inEvaluationMode(model) {
            try Autograd.withoutGradients {
                for start in stride(from: 0, to: n, by: size) {
                    let end = Swift.min(n, start + size)
                    var x = try images.sliced(axis: 0, start..<end).contiguous()
                    var batchStreams = streams[start..<end]
                    let batchLabels = labels.map { Array($0[start..<end]) }
                    for (k, i) in order.enumerated() {
                        x = try step(process, x, i, batchLabels, &batchStreams, variance)
                        if x.hasNonFinite {
                            throw DiffusionError("\(context): step \(k + 1) of \(steps) (timestep \(process.timestepMap[i]) of \(originalStepCount)) produced NaN or infinite values in images \(start)..<\(end)")
                        }
                        done += 1
                        try options.progress?(done, batches * steps)
                    }
                    results.append(x)
                }
            }
        }
        return results.count == 1 ? results[0] : try Tensor.concatenated(results, axis: 0)
    }

    /// One stream per image, so image i's noise is the same however images are batched.
    static func imageStreams(seed: UInt64, count: Int) -> [RandomStream] {
        (0..<count).map { RandomStream(seed: seed, purpose: "diffusion sample \($0)") }
    }

    /// Fills `t` [B, ...] with N(0, 1), image b from `streams[b]`.
    static func fillNormal(_ t: Tensor, from streams: inout ArraySlice<RandomStream>) {
        let per = t.count / Swift.max(t.shape.first ?? 1, 1)
        for (b, k) in streams.indices.enumerated() where b < (t.shape.first ?? 0) {
            streams[k].fillNormal(t.pointer + b * per, count: per)
        }
    }

    /// Runs `body` with a Module model (and every submodule) in evaluation mode, then
    /// restores each submodule's own mode.
    static func inEvaluationMode<T>(_ model: any Denoiser, _ body: () throws -> T) rethrows -> T {
        guard let module = model as? Module else { return try body() }
        let modes = module.namedModules().map { ($0.1, $0.1.isTraining) }
        module.eval()
        // Pre-order: a parent's recursive train() runs before its children's own restore.
        defer { for (m, training) in modes { m.train(training) } }
        return try body()
    }
}
