import Foundation

/// Sinusoidal embedding of (diffusion) timesteps, as facebookresearch/DiT's
/// `TimestepEmbedder.timestep_embedding`: t [B] → [B, dimension] =
/// [cos(t·f_0), …, cos(t·f_{half−1}), sin(t·f_0), …, sin(t·f_{half−1})] with
/// f_i = exp(−ln(maxPeriod)·i/half), half = dimension/2, and a final zero column when
/// `dimension` is odd. Frequencies and arguments are rounded to float32 as in PyTorch.
/// Differentiable with respect to t (for continuous-time models).
public func timestepEmbedding(_ t: Tensor, dimension: Int, maxPeriod: Float = 10000) throws -> Tensor {
    let op = "timestepEmbedding"
    guard t.rank == 1 else { throw TensorError(op, "timesteps of shape \(t.shape) must be [B]") }
    guard dimension >= 1, maxPeriod > 0 else {
        throw TensorError(op, "dimension \(dimension) must be ≥ 1 and maxPeriod \(maxPeriod) > 0")
    }
    let b = t.shape[0], half = dimension / 2
    let logPeriod = -Float(log(Double(maxPeriod)))
    let frequencies = (0..<half).map { Foundation.exp(logPeriod * Float($0) / Float(half)) }
    let tc = t.contiguous()
    let out = Tensor(uninitializedShape: [b, dimension])
    let (tp, yp) = (tc.pointer, out.pointer)
    for i in 0..<b {
        let row = yp + i * dimension
        for j in 0..<half {
            let angle = Double(tp[i] * frequencies[j])
            row[j] = Float(cos(angle))
            row[half + j] = Float(sin(angle))
        }
        if dimension % 2 == 1 { row[dimension - 1] = 0 }
    }
    return out.recorded(op, inputs: [t]) { g in
        // d/dt [cos(t·f), sin(t·f)] = [−f·sin(t·f), f·cos(t·f)] = f·[−y_sin, y_cos].
        let gc = g.contiguous()
        let dt = Tensor(uninitializedShape: [b])
        for i in 0..<b {
            let gr = gc.pointer + i * dimension, yr = yp + i * dimension
            var s: Float = 0
            for j in 0..<half { s += frequencies[j] * (yr[j] * gr[half + j] - yr[half + j] * gr[j]) }
            dt.pointer[i] = s
        }
        withExtendedLifetime(out) {}
        return [dt]
    }
}
