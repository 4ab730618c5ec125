import CBLAS

/// A KID estimate: the mean and spread of the unbiased MMD² over random subsets.
public struct KernelDistance: Equatable, Sendable {
    public let mean: Double
    /// Population standard deviation over the subsets (`np.std`, as torch-fidelity reports it).
    public let standardDeviation: Double
    public let subsets: Int
    public let subsetSize: Int
}

/// The Kernel Inception Distance (Bińkowski et al. 2018, "Demystifying MMD GANs") between
/// two feature sets [N₁, D] and [N₂, D]: the unbiased estimate of the squared maximum mean
/// discrepancy under the cubic polynomial kernel k(x, y) = (xᵀy / D + 1)³,
///
///     MMD²ᵤ = Σ_{i≠j} k(xᵢ, xⱼ) / (m(m−1)) + Σ_{i≠j} k(yᵢ, yⱼ) / (m(m−1)) − 2·Σ_{i,j} k(xᵢ, yⱼ) / m²,
///
/// averaged over `subsets` pairs of subsets of size m = min(`subsetSize`, N₁, N₂), each
/// drawn without replacement from a `RandomStream` seeded with `seed` (so the estimate is
/// reproducible and leaves the engine's streams alone). Defaults follow torch-fidelity and
/// clean-fid: 100 subsets of 1000. Unlike FID it is unbiased, so it can be (slightly)
/// negative when the two sets come from one distribution.
///
/// Kernels are evaluated in Float64 by BLAS; subsets run in parallel.
public func kernelInceptionDistance(_ a: Tensor, _ b: Tensor, subsets: Int = 100, subsetSize: Int = 1000,
                                    seed: UInt64 = 0) throws -> KernelDistance {
    let metric = "kernelInceptionDistance"
    for (name, t) in [("first", a), ("second", b)] where t.rank != 2 {
        throw MetricsError(metric, "the \(name) feature set must be [N, D], got shape \(t.shape)")
    }
    guard a.shape[1] == b.shape[1] else {
        throw MetricsError(metric, "feature dimensions differ: \(a.shape[1]) and \(b.shape[1])")
    }
    guard subsets >= 1 else { throw MetricsError(metric, "subsets must be ≥ 1, got \(subsets)") }
    let m = min(subsetSize, a.shape[0], b.shape[0])
    guard m >= 2 else {
        throw MetricsError(metric, "need subsets of at least 2 vectors: subset size \(subsetSize), sets of \(a.shape[0]) and \(b.shape[0])")
    }
    let d = a.shape[1]
    let x = a.toArray().map(Double.init), y = b.toArray().map(Double.init)
    if let bad = (x + y).first(where: { !$0.isFinite }) { throw MetricsError(metric, "the features contain \(bad)") }

    // Draw every subset up front, in order, so the result does not depend on threading.
    var stream = RandomStream(seed: seed, purpose: "kid")
    let draws: [([Int], [Int])] = (0..<subsets).map { _ in
        (Array(stream.permutation(a.shape[0]).prefix(m)), Array(stream.permutation(b.shape[0]).prefix(m)))
    }
    var estimates = [Double](repeating: 0, count: subsets)
    estimates.withUnsafeMutableBufferPointer { out in
        let results = UncheckedSendable(out)
        Parallel.forEach(subsets) { s in
            results.value[s] = unbiasedPolynomialMMD(rows(x, d, draws[s].0), rows(y, d, draws[s].1), m: m, d: d)
        }
    }
    let mean = estimates.reduce(0, +) / Double(subsets)
    let variance = estimates.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(subsets)
    return KernelDistance(mean: mean, standardDeviation: variance.squareRoot(), subsets: subsets, subsetSize: m)
}

/// The rows of row-major `matrix` (width d) at `indices`, stacked.
private func rows(_ matrix: [Double], _ d: Int, _ indices: [Int]) -> [Double] {
    var out = [Double](repeating: 0, count: indices.count * d)
    for (k, i) in indices.enumerated() {
        for j in 0..<d { out[k * d + j] = matrix[i * d + j] }
    }
    return out
}

/// MMD²ᵤ of two sets of m vectors (row-major m×d) under k(x, y) = (xᵀy/d + 1)³.
private func unbiasedPolynomialMMD(_ x: [Double], _ y: [Double], m: Int, d: Int) -> Double {
    func kernelSum(_ gram: [Double], skippingDiagonal: Bool) -> Double {
        var total = 0.0
        for i in 0..<m {
            for j in 0..<m where !(skippingDiagonal && i == j) {
                let v = gram[i * m + j] / Double(d) + 1
                total += v * v * v
            }
        }
        return total
    }
    let xx = symmetricProduct(x, rows: m, inner: d), yy = symmetricProduct(y, rows: m, inner: d)
    var xy = [Double](repeating: 0, count: m * m)
    let (m32, d32) = (Int32(m), Int32(d))
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m32, m32, d32, 1, x, d32, y, d32, 0, &xy, m32)
    let within = (kernelSum(xx, skippingDiagonal: true) + kernelSum(yy, skippingDiagonal: true)) / Double(m * (m - 1))
    return within - 2 * kernelSum(xy, skippingDiagonal: false) / Double(m * m)
}
