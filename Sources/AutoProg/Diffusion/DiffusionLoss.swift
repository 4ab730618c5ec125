import Foundation

/// The terms of one training step's loss (`training_losses` with LossType.MSE, as DiT trains).
public struct DiffusionLossTerms {
    /// mean over the batch of mse + vb: the scalar to back-propagate.
    public let loss: Tensor
    /// Per image: mean over C, H, W of (ε − ε̂)².
    public let mse: Tensor
    /// Per image, when the variance is learned: the variational-bound term in bits, KL of
    /// the true posterior against the model's step (decoder NLL at t = 0), with ε̂ held
    /// fixed so it trains only the variance channels.
    public let vb: Tensor?
    /// The step drawn (or given) for each image.
    public let timesteps: [Int]
}

extension GaussianDiffusion {
    /// The training loss of `model` on clean images `x0` [B, C, H, W] in [−1, 1].
    ///
    /// A process with a `scheduleSide` uses its schedule adapted to x0's size. Unless
    /// given, the steps are drawn uniformly and the noise from N(0, 1), both from
    /// the global `noise` random stream (so a resumed run draws the same ones). With a
    /// learned variance the loss is mse + vb per image, unscaled (DiT's LossType.MSE
    /// with learned sigma; ADM's RESCALED_MSE would scale vb by T/1000).
    public func trainingLosses(model: any Denoiser, x0: Tensor, labels: [Int]?, timesteps: [Int]? = nil,
                               noise: Tensor? = nil) throws -> DiffusionLossTerms {
        guard scheduleSide == nil else {
            return try adapted(to: x0).trainingLosses(model: model, x0: x0, labels: labels, timesteps: timesteps, noise: noise)
        }
        let context = "diffusion loss"
        try validate(x0, "x0", model: model, labels: labels, context: context)
        if model.nullClass != nil && labels == nil {
            throw DiffusionError("\(context): the model is class-conditional; give one label per image (its null class \(model.nullClass!) for unconditional)")
        }
        let variance = try variance(for: model)
        if variance != .learnedRange && model.learnsSigma {
            throw DiffusionError("\(context): the model predicts a variance but the diffusion's is fixed (\(variance.rawValue)): its variance channels would never train; use learn_sigma = true")
        }
        let batch = x0.shape[0]
        let t: [Int]
        if let timesteps {
            guard timesteps.count == batch else {
                throw DiffusionError("\(context): \(timesteps.count) timesteps for \(batch) images")
            }
            try checkSteps(timesteps, context)
            t = timesteps
        } else {
            t = Random.with(.noise) { stream in (0..<batch).map { _ in stream.nextInt(below: stepCount) } }
        }
        let epsilon = noise ?? Tensor.randn(x0.shape, purpose: .noise)
        guard epsilon.shape == x0.shape else {
            throw DiffusionError("\(context): noise of shape \(epsilon.shape) differs from x0 of shape \(x0.shape)")
        }
        let xt = try qSample(x0, timesteps: t, noise: epsilon)
        let output = try modelOutput(model, xt, timesteps: t, labels: labels)
        let c = x0.shape[1]
        let predicted = model.learnsSigma ? try output.sliced(axis: 1, 0..<c) : output
        let nonBatch = Array(1..<x0.rank)
        let mse = try (epsilon - predicted).squared().mean(axes: nonBatch)
        guard variance == .learnedRange else {
            return DiffusionLossTerms(loss: mse.mean(), mse: mse, vb: nil, timesteps: t)
        }
        // Learn the variance through the bound without letting it move the mean:
        // ε̂ is detached, only the v channels carry gradient (ADM's `frozen_out`).
        let frozen = try Tensor.concatenated([predicted.detached(), output.sliced(axis: 1, c..<(2 * c))], axis: 1)
        let vb = try variationalBoundTerms(x0: x0, xt: xt, timesteps: t, output: frozen)
        return DiffusionLossTerms(loss: try (mse + vb).mean(), mse: mse, vb: vb, timesteps: t)
    }

    /// The scalar loss (`trainingLosses(...).loss`).
    public func trainingLoss(model: any Denoiser, x0: Tensor, labels: [Int]?) throws -> Tensor {
        try trainingLosses(model: model, x0: x0, labels: labels).loss
    }

    /// Per image, in bits per dimension: KL(q(x_{t−1} | x_t, x_0) ‖ p(x_{t−1} | x_t)) for
    /// t > 0, and the discretised decoder's −log p(x_0 | x_1) at t = 0 (`_vb_terms_bpd`
    /// without clipping x̂_0, as in training).
    func variationalBoundTerms(x0: Tensor, xt: Tensor, timesteps t: [Int], output: Tensor) throws -> Tensor {
        let nonBatch = Array(1..<x0.rank)
        let bits = Float(1 / Foundation.log(2.0))
        let truth = try posterior(x0: x0, xt: xt, timesteps: t)
        let model = try prediction(from: output, x: xt, timesteps: t, variance: .learnedRange, clipDenoised: false)
        let kl = try normalKL(mean1: truth.mean, logVariance1: truth.logVariance, mean2: model.mean,
                              logVariance2: model.logVariance).mean(axes: nonBatch) * bits
        guard t.contains(0) else { return kl }
        let nll = try -discretizedGaussianLogLikelihood(x0, means: model.mean, logScales: model.logVariance * 0.5)
            .mean(axes: nonBatch) * bits
        // torch.where(t == 0, decoder_nll, kl), per image.
        let first = Tensor(t.map { $0 == 0 ? 1 : 0 })
        return try first * nll + (1 - first) * kl
    }
}
