import CBLAS

/// Row-major single-precision GEMM on OpenBLAS: C ← alpha·op(A)·op(B) + beta·C,
/// op(A) is m×k, op(B) is k×n, C is m×n.
public enum BLAS {
    /// OpenBLAS runs single-threaded; the engine owns the parallelism (see `Parallel`).
    private static let configured: Void = { openblas_set_num_threads(1) }()

    public static func configure() { _ = configured }

    /// One GEMM on the calling thread.
    @inline(__always)
    public static func gemm(
        transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        _ = configured
        if m == 0 || n == 0 { return }
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// A GEMM split across the worker threads along the larger of m and n when it is big
    /// enough to pay for the split (each part is an independent single-thread GEMM).
    public static func parallelGemm(
        transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        let flops = 2.0 * Double(m) * Double(n) * Double(k)
        let parts = Parallel.threadCount
        if parts < 2 || flops < 4e6 {
            gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                 beta: beta, c: c, ldc: ldc)
            return
        }
        if m >= n {
            // Rows of C and of op(A): block size a multiple of 16 keeps the kernels' tiles whole.
            let block = ((m + parts - 1) / parts + 15) & ~15
            Parallel.forEach((m + block - 1) / block) { p in
                let i0 = p * block, rows = min(block, m - i0)
                gemm(transA: transA, transB: transB, m: rows, n: n, k: k, alpha: alpha,
                     a: transA ? a + i0 : a + i0 * lda, lda: lda, b: b, ldb: ldb,
                     beta: beta, c: c + i0 * ldc, ldc: ldc)
            }
        } else {
            let block = ((n + parts - 1) / parts + 15) & ~15
            Parallel.forEach((n + block - 1) / block) { p in
                let j0 = p * block, cols = min(block, n - j0)
                gemm(transA: transA, transB: transB, m: m, n: cols, k: k, alpha: alpha, a: a, lda: lda,
                     b: transB ? b + j0 * ldb : b + j0, ldb: ldb,
                     beta: beta, c: c + j0, ldc: ldc)
            }
        }
    }
}
