import CBLAS

/// A linear-algebra routine got a matrix it cannot work with, or LAPACK failed on it.
public struct LinearAlgebraError: Error, CustomStringConvertible, Equatable {
    public let routine: String
    public let message: String

    public init(_ routine: String, _ message: String) {
        self.routine = routine
        self.message = message
    }

    public var description: String { "\(routine): \(message)" }
}

/// Eigenvalues and eigenvectors of a real symmetric n×n matrix in Float64, by LAPACK's
/// `dsyev` (`numpy.linalg.eigh`'s convention): `values` ascending; `vectors` row-major n×n
/// with eigenvector j in column j, so `vectors[i * n + j]` is component i of eigenvector j
/// (empty when `computeVectors` is false, which is several times faster).
///
/// `matrix` is row-major n×n. It must be symmetric: asymmetry beyond rounding (more than
/// 1e-5 of the largest entry) is an error, since `dsyev` would silently read one triangle
/// only; rounding-level asymmetry (a Gram matrix from a float32 GEMM) is averaged away. Non-finite
/// entries are an error naming the first, and so is LAPACK's failure to converge.
///
/// Shared by the FID's matrix square roots and the NTK condition number (DESIGN §5).
public func symmetricEigen(_ matrix: [Double], n: Int, computeVectors: Bool = true) throws
    -> (values: [Double], vectors: [Double]) {
    let routine = "symmetricEigen"
    guard n >= 1 else { throw LinearAlgebraError(routine, "matrix size n must be ≥ 1, got \(n)") }
    guard n <= 46_340 else { throw LinearAlgebraError(routine, "matrix size \(n) exceeds LAPACK's 32-bit indexing") }
    guard matrix.count == n * n else {
        throw LinearAlgebraError(routine, "\(matrix.count) values do not form a \(n)×\(n) matrix (\(n * n) values)")
    }
    if let bad = matrix.firstIndex(where: { !$0.isFinite }) {
        throw LinearAlgebraError(routine, "entry (\(bad / n), \(bad % n)) is \(matrix[bad]); the matrix must be finite")
    }
    let largest = matrix.reduce(0) { max($0, abs($1)) }
    var a = matrix
    for i in 0..<n {
        for j in (i + 1)..<n {
            let (x, y) = (matrix[i * n + j], matrix[j * n + i])
            if abs(x - y) > 1e-5 * largest {
                throw LinearAlgebraError(routine, "the matrix is not symmetric: entry (\(i), \(j)) is \(x) but (\(j), \(i)) is \(y)")
            }
            let mean = 0.5 * (x + y)
            a[i * n + j] = mean
            a[j * n + i] = mean
        }
    }

    // Column-major and row-major agree for a symmetric matrix, so `a` goes in as it is.
    var jobz = Int8(UInt8(ascii: computeVectors ? "V" : "N")), uplo = Int8(UInt8(ascii: "L"))
    var size = Int32(n), lda = Int32(n), info: Int32 = 0
    var values = [Double](repeating: 0, count: n)
    // Workspace query (lwork = −1) for the blocked algorithm's optimal size.
    var query = 0.0
    var lwork: Int32 = -1
    dsyev_(&jobz, &uplo, &size, &a, &lda, &values, &query, &lwork, &info)
    guard info == 0 else { throw LinearAlgebraError(routine, "LAPACK dsyev workspace query failed (info = \(info))") }
    lwork = Int32(max(query, Double(max(1, 3 * n - 1))))
    var work = [Double](repeating: 0, count: Int(lwork))
    dsyev_(&jobz, &uplo, &size, &a, &lda, &values, &work, &lwork, &info)
    if info < 0 { throw LinearAlgebraError(routine, "LAPACK dsyev rejected argument \(-info)") }
    if info > 0 {
        throw LinearAlgebraError(routine, "LAPACK dsyev did not converge: \(info) off-diagonal elements of the "
            + "intermediate tridiagonal form did not reach zero (\(n)×\(n) matrix, largest entry \(largest))")
    }
    guard computeVectors else { return (values, []) }
    // LAPACK leaves eigenvector j in column j of the column-major result, i.e. in row j of
    // `a` read row-major: transpose so that column j holds it, as numpy's eigh does.
    var vectors = [Double](repeating: 0, count: n * n)
    for i in 0..<n {
        for j in 0..<n { vectors[i * n + j] = a[j * n + i] }
    }
    return (values, vectors)
}

/// The square root S of a symmetric positive semi-definite matrix (S·S = A, S symmetric
/// PSD), from its eigendecomposition A = V·diag(λ)·Vᵀ as S = V·diag(√λ)·Vᵀ, row-major n×n.
///
/// Eigenvalues a covariance estimate should not have but rounding gives it (tiny negative
/// values, of the order of ε·‖A‖, or of float32 rounding for statistics computed
/// elsewhere) are clamped to zero; a clearly negative eigenvalue (below −1e-6·‖A‖) means
/// the matrix is not PSD, which is an error.
public func symmetricPSDSquareRoot(_ matrix: [Double], n: Int) throws -> [Double] {
    let (values, vectors) = try symmetricEigen(matrix, n: n)
    let scale = values.map(abs).max() ?? 0
    if let lowest = values.first, lowest < -1e-6 * max(scale, Double.leastNormalMagnitude) {
        throw LinearAlgebraError("symmetricPSDSquareRoot", "the matrix is not positive semi-definite (eigenvalue \(lowest), largest magnitude \(scale))")
    }
    // S = (V·diag(λ^¼))·(V·diag(λ^¼))ᵀ: one symmetric rank-n update keeps S exactly symmetric.
    var scaled = vectors
    for j in 0..<n {
        let f = max(values[j], 0).squareRoot().squareRoot()
        for i in 0..<n { scaled[i * n + j] *= f }
    }
    return symmetricProduct(scaled, rows: n, inner: n)
}

/// B·Bᵀ (or Bᵀ·B when `transposed`) for row-major B, as a full row-major matrix of size
/// `rows`×`rows`; B is rows×inner (inner×rows when transposed). `dsyrk` computes one
/// triangle, mirrored so the result is exactly symmetric.
func symmetricProduct(_ b: [Double], rows: Int, inner: Int, transposed: Bool = false, alpha: Double = 1) -> [Double] {
    var c = [Double](repeating: 0, count: rows * rows)
    guard rows > 0 else { return c }
    BLAS.configure()
    cblas_dsyrk(CblasRowMajor, CblasUpper, transposed ? CblasTrans : CblasNoTrans, Int32(rows), Int32(inner), alpha,
                b, Int32(max(transposed ? rows : inner, 1)), 0, &c, Int32(rows))
    for i in 0..<rows {
        for j in 0..<i { c[i * rows + j] = c[j * rows + i] }
    }
    return c
}
