import Foundation

// The pieces of the variational bound (improved-diffusion's `losses.py`), built from
// differentiable tensor ops so gradients reach whichever argument requires them.

/// KL(N(μ₁, e^{v₁}) ‖ N(μ₂, e^{v₂})) elementwise, in nats, with broadcasting:
/// ½(−1 + v₂ − v₁ + e^{v₁−v₂} + (μ₁ − μ₂)²·e^{−v₂}) (`normal_kl`).
public func normalKL(mean1: Tensor, logVariance1: Tensor, mean2: Tensor, logVariance2: Tensor) throws -> Tensor {
    let spread = try (logVariance1 - logVariance2).exp()
    let distance = try (mean1 - mean2).squared() * (-logVariance2).exp()
    return try ((logVariance2 - logVariance1 - 1) + spread + distance) * 0.5
}

/// Φ(x) ≈ ½(1 + tanh(√(2/π)(x + 0.044715x³))), the fast approximation ADM uses
/// (`approx_standard_normal_cdf`).
public func approximateStandardNormalCDF(_ x: Tensor) throws -> Tensor {
    let inner = try (x + x.pow(3) * 0.044715) * Float((2 / Double.pi).squareRoot())
    return try (tanh(inner) + 1) * 0.5
}

/// log-likelihood (nats, elementwise) of images x in [−1, 1] holding 8-bit values under a
/// Gaussian discretised to bins of width 2/255 (`discretized_gaussian_log_likelihood`):
/// the bin's probability mass, with the edge bins (x < −0.999, x > 0.999) extended to
/// ±∞. x is data (no gradient); means and log scales (log σ) get gradients.
public func discretizedGaussianLogLikelihood(_ x: Tensor, means: Tensor, logScales: Tensor) throws -> Tensor {
    guard x.shape == means.shape, x.shape == logScales.shape else {
        throw DiffusionError("discretized Gaussian likelihood: x \(x.shape), means \(means.shape) and log scales \(logScales.shape) must have one shape")
    }
    let centered = try x - means
    let inverseStd = (-logScales).exp()
    let cdfPlus = try approximateStandardNormalCDF(inverseStd * (centered + 1 / 255))
    let cdfMin = try approximateStandardNormalCDF(inverseStd * (centered - 1 / 255))
    let logCdfPlus = try cdfPlus.clamped(min: 1e-12).log()
    let logOneMinusCdfMin = try (1 - cdfMin).clamped(min: 1e-12).log()
    let logCdfDelta = try (cdfPlus - cdfMin).clamped(min: 1e-12).log()
    // torch.where on the data: constant 0/1 masks select the branch per element (every
    // branch is finite thanks to the clamps, so unselected ones contribute exactly 0).
    let xs = x.contiguous()
    let low = Tensor(uninitializedShape: x.shape), high = Tensor(uninitializedShape: x.shape)
    let middle = Tensor(uninitializedShape: x.shape)
    for i in 0..<xs.count {
        let v = xs.pointer[i]
        low.pointer[i] = v < -0.999 ? 1 : 0
        high.pointer[i] = v > 0.999 && !(v < -0.999) ? 1 : 0
        middle.pointer[i] = 1 - low.pointer[i] - high.pointer[i]
    }
    return try low * logCdfPlus + high * logOneMinusCdfMin + middle * logCdfDelta
}
