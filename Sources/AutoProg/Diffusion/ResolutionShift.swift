import Foundation

// Resolution-dependent noise schedules ("simple diffusion", Hoogeboom et al. 2023; SD3's
// resolution shift). A noisy image x_t = √ᾱ·x_0 + √(1 − ᾱ)·ε, area-averaged by k in each
// direction, keeps its signal but only 1/k² of its noise variance: at the same step it
// is k² times less noisy than the full-size image. A process tuned for images of side n
// therefore trains (and samples) images of side m with its signal-to-noise ratio scaled
// by (n/m)², so that step t means the same coarse content destroyed at every size, and
// what a low-resolution stage of progressive fine-tuning learns at step t carries over
// to the full size.

extension NoiseSchedule {
    /// This schedule with the signal-to-noise ratio ᾱ/(1 − ᾱ) of every step scaled by
    /// `factor` (> 0): ᾱ′_t = f·ᾱ_t/(1 − ᾱ_t + f·ᾱ_t), β′_t = 1 − ᾱ′_t/ᾱ′_{t−1}.
    /// The map is increasing in ᾱ, so the βs stay in (0, 1].
    public func snrScaled(by factor: Double) throws -> NoiseSchedule {
        guard factor > 0, factor.isFinite else {
            throw DiffusionError("the signal-to-noise scale must be positive and finite, got \(factor)")
        }
        guard factor != 1 else { return self }
        var previous = 1.0
        let betas = alphasCumprod.map { abar in
            let shifted = factor * abar / (1 - abar + factor * abar)
            defer { previous = shifted }
            return 1 - shifted / previous
        }
        return try NoiseSchedule(betas: betas)
    }
}

extension GaussianDiffusion {
    /// The process for images of `height`×`width`, with no `scheduleSide` left (so it is
    /// not adapted twice): this one's schedule when it has no side or the images are that
    /// size, else its SNR scaled by scheduleSide²/(height·width). Training losses,
    /// q_sample and the samplers adapt to their images' size through it.
    public func adapted(height: Int, width: Int) throws -> GaussianDiffusion {
        guard let side = scheduleSide else { return self }
        guard height > 0, width > 0 else { throw DiffusionError("image size \(height)×\(width) must be positive") }
        let factor = Double(side * side) / Double(height * width)
        return GaussianDiffusion(schedule: try schedule.snrScaled(by: factor), timestepMap: timestepMap,
                                 originalStepCount: originalStepCount, variance: variance,
                                 scheduleKind: scheduleKind, scheduleSide: nil)
    }

    /// `adapted(height:width:)` for images [B, C, H, W]; a tensor of another rank has no
    /// image size and gets the schedule unscaled.
    func adapted(to images: Tensor) throws -> GaussianDiffusion {
        guard let side = scheduleSide else { return self }
        return images.rank == 4 ? try adapted(height: images.shape[2], width: images.shape[3])
                                : try adapted(height: side, width: side)
    }
}
