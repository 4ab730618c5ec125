import CBLAS

/// A metric got inputs it cannot be computed from, or a file it needs is missing or wrong.
public struct MetricsError: Error, CustomStringConvertible, Equatable {
    public let metric: String
    public let message: String

    public init(_ metric: String, _ message: String) {
        self.metric = metric
        self.message = message
    }

    public var description: String { "\(metric): \(message)" }
}

/// The mean and covariance of a set of feature vectors, in Float64: what the Fréchet
/// distance compares (pytorch-fid's `mu`, `sigma`).
public struct FeatureStatistics: Equatable, Sendable {
    /// Number of feature vectors the statistics came from (0 when given directly).
    public let count: Int
    public let dimension: Int
    public let mean: [Double]
    /// Row-major dimension×dimension, unbiased (divided by N − 1), as `numpy.cov(x, rowvar=False)`.
    public let covariance: [Double]

    /// The statistics of the rows of `features` [N, D] (N ≥ 2), accumulated in Float64 in
    /// two passes (mean, then centred products), so float32 features lose nothing.
    public init(features: Tensor) throws {
        let metric = "feature statistics"
        guard features.rank == 2 else {
            throw MetricsError(metric, "features must be [N, D], got shape \(features.shape)")
        }
        let (n, d) = (features.shape[0], features.shape[1])
        guard n >= 2, d >= 1 else {
            throw MetricsError(metric, "need at least 2 feature vectors of dimension ≥ 1, got shape \(features.shape)")
        }
        let values = features.toArray()
        if let bad = values.firstIndex(where: { !$0.isFinite }) {
            throw MetricsError(metric, "feature \(bad % d) of vector \(bad / d) is \(values[bad])")
        }
        var mean = [Double](repeating: 0, count: d)
        for i in 0..<n {
            for j in 0..<d { mean[j] += Double(values[i * d + j]) }
        }
        for j in 0..<d { mean[j] /= Double(n) }
        var centred = [Double](repeating: 0, count: n * d)
        for i in 0..<n {
            for j in 0..<d { centred[i * d + j] = Double(values[i * d + j]) - mean[j] }
        }
        self.count = n
        self.dimension = d
        self.mean = mean
        covariance = symmetricProduct(centred, rows: d, inner: n, transposed: true, alpha: 1 / Double(n - 1))
    }

    /// Statistics given directly (saved reference statistics, closed-form tests).
    public init(mean: [Double], covariance: [Double], count: Int = 0) throws {
        let metric = "feature statistics"
        let d = mean.count
        guard d >= 1 else { throw MetricsError(metric, "the mean is empty") }
        guard covariance.count == d * d else {
            throw MetricsError(metric, "a covariance of \(covariance.count) values does not match a mean of dimension \(d) (\(d * d) values)")
        }
        if let bad = (mean + covariance).first(where: { !$0.isFinite }) {
            throw MetricsError(metric, "the statistics contain \(bad)")
        }
        self.count = count
        self.dimension = d
        self.mean = mean
        self.covariance = covariance
    }

    /// tr(Σ).
    public var trace: Double { (0..<dimension).reduce(0) { $0 + covariance[$1 * dimension + $1] } }
}

/// The Fréchet distance between Gaussians fitted to two feature sets (Heusel et al. 2017,
/// "GANs trained by a two time-scale update rule converge to a local Nash equilibrium"):
///
///     d² = ‖μ₁ − μ₂‖² + tr(Σ₁) + tr(Σ₂) − 2·tr((Σ₁Σ₂)^½)
///
/// With features from autoprog's own feature network (`FeatureNetwork`) this is FID
/// without Inception weights; the numbers are comparable only between runs that use the
/// same feature network checkpoint.
///
/// The cross term is computed as tr((Σ₁^½ Σ₂ Σ₁^½)^½) = Σᵢ √λᵢ(Σ₁^½ Σ₂ Σ₁^½), from two
/// symmetric eigendecompositions, instead of pytorch-fid's `scipy.linalg.sqrtm(Σ₁·Σ₂)`:
///
/// - Σ₁Σ₂ is not symmetric, so `sqrtm` works through a complex Schur decomposition. When
///   the covariances are singular or nearly so — fewer samples than feature dimensions,
///   dead ReLU units, generated samples that collapse onto few modes — the product is
///   (nearly) defective, its square root is ill-conditioned, and rounding comes back as
///   imaginary parts and large real errors. pytorch-fid papers over this by adding ε·I
///   to both covariances and dropping imaginary parts below a tolerance.
/// - Σ₁Σ₂ = Σ₁^½ (Σ₁^½ Σ₂ Σ₁^½) Σ₁^-½ (for invertible Σ₁, and by continuity otherwise)
///   has the eigenvalues of M = Σ₁^½ Σ₂ Σ₁^½, which is symmetric positive semi-definite
///   by construction. Symmetric eigenproblems are perfectly conditioned (Weyl: each
///   eigenvalue moves by at most the norm of the perturbation), so the result is real and
///   accurate to about ε·‖Σ‖ for any rank; the only repair needed is clamping
///   rounding-level negative eigenvalues to zero.
///
/// All of it runs in Float64 (LAPACK `dsyev`).
public func frechetDistance(_ a: FeatureStatistics, _ b: FeatureStatistics) throws -> Double {
    guard a.dimension == b.dimension else {
        throw MetricsError("frechetDistance", "feature dimensions differ: \(a.dimension) and \(b.dimension)")
    }
    let d = a.dimension
    var meanTerm = 0.0
    for j in 0..<d { meanTerm += (a.mean[j] - b.mean[j]) * (a.mean[j] - b.mean[j]) }
    let rootA = try symmetricPSDSquareRoot(a.covariance, n: d)
    // M = Σ₁^½ · Σ₂ · Σ₁^½ by two GEMMs; its rounding-level asymmetry is averaged away by symmetricEigen.
    var product = [Double](repeating: 0, count: d * d), m = [Double](repeating: 0, count: d * d)
    BLAS.configure()
    let n32 = Int32(d)
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n32, n32, n32, 1, rootA, n32, b.covariance, n32, 0, &product, n32)
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n32, n32, n32, 1, product, n32, rootA, n32, 0, &m, n32)
    let eigenvalues = try symmetricEigen(m, n: d, computeVectors: false).values
    let traceRoot = eigenvalues.reduce(0) { $0 + max($1, 0).squareRoot() }
    return meanTerm + a.trace + b.trace - 2 * traceRoot
}

/// The Fréchet distance between the Gaussians fitted to the rows of two feature tensors [N, D].
public func frechetDistance(_ a: Tensor, _ b: Tensor) throws -> Double {
    try frechetDistance(FeatureStatistics(features: a), FeatureStatistics(features: b))
}
