import CKernels
import Foundation

/// Rescales gradients so their joint norm is at most `maxNorm`
/// (`torch.nn.utils.clip_grad_norm_`) and returns the total norm before clipping.
///
/// The norm is taken over the gradients of the parameters with `requiresGrad` (frozen
/// parameters have none in torch). When it exceeds `maxNorm` every such gradient is
/// multiplied by maxNorm / (norm + 1e-6). A non-finite norm (an overflowed or NaN
/// gradient) is returned to the caller, who should skip the step; unlike torch, which
/// would multiply the gradients by NaN, they are left untouched. With
/// `errorIfNonFinite` it throws instead, like torch's `error_if_nonfinite=True`.
///
/// - Parameter normType: p of the p-norm; 2 (default) and `.infinity` are fast paths.
@discardableResult
public func clipGradientNorm(_ parameters: [Parameter], maxNorm: Float, normType: Float = 2,
                             errorIfNonFinite: Bool = false) throws -> Float {
    guard maxNorm >= 0 else { throw OptimizerError("clipGradientNorm", "maxNorm must be ≥ 0, got \(maxNorm)") }
    guard normType > 0 else { throw OptimizerError("clipGradientNorm", "normType must be > 0, got \(normType)") }
    let grads = parameters.filter(\.requiresGrad).map(\.grad)
    if grads.isEmpty { return 0 }
    let total = gradientNorm(grads, normType: normType)
    if !total.isFinite {
        if errorIfNonFinite {
            throw OptimizerError("clipGradientNorm", "the total norm of order \(normType) of the gradients is \(total)")
        }
        return total
    }
    let coefficient = maxNorm / (total + 1e-6)
    if coefficient < 1 {
        Parallel.forEach(grads.count) { i in ck_scale(grads[i].count, grads[i].pointer, coefficient) }
    }
    return total
}

/// The p-norm of all the gradients together. Each tensor's part is computed separately
/// (in parallel across tensors) and combined in order, so the result does not depend on
/// the thread count: a resumed run on another machine clips identically.
func gradientNorm(_ grads: [Tensor], normType: Float) -> Float {
    var parts = [Double](repeating: 0, count: grads.count)
    parts.withUnsafeMutableBufferPointer { out in
        let base = out.baseAddress!
        Parallel.forEach(grads.count) { i in
            let g = grads[i], n = g.count, x = g.pointer
            if normType == 2 {
                base[i] = ck_sumsq(x, n)
            } else if normType == .infinity {
                base[i] = Double(ck_absmax(x, n))
            } else {
                let q = Double(normType)
                var s = 0.0
                for j in 0..<n { s += pow(Double(abs(x[j])), q) }
                base[i] = s
            }
        }
    }
    if normType == .infinity { return Float(parts.reduce(0) { $0.isNaN || $1.isNaN ? .nan : max($0, $1) }) }
    let sum = parts.reduce(0, +)
    return Float(normType == 2 ? sum.squareRoot() : pow(sum, 1 / Double(normType)))
}
