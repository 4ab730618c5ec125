import AutoProg

/// SGEMM throughput: square sizes and the ViT shapes that dominate a training step,
/// single-thread and split across the engine's workers.
func benchmarkGemm() {
    func gflops(m: Int, n: Int, k: Int, transA: Bool = false, transB: Bool = false, parallel: Bool) -> Double {
        let a = Tensor.randn([m * k]), b = Tensor.randn([k * n]), c = Tensor.zeros([m * n])
        let lda = transA ? m : k, ldb = transB ? k : n
        let runs = max(3, Int(2e9 / (2.0 * Double(m * n * k))))
        let s = medianSeconds(runs: min(runs, 200)) {
            if parallel {
                BLAS.parallelGemm(transA: transA, transB: transB, m: m, n: n, k: k, a: a.pointer, lda: lda,
                                  b: b.pointer, ldb: ldb, c: c.pointer, ldc: n)
            } else {
                BLAS.gemm(transA: transA, transB: transB, m: m, n: n, k: k, a: a.pointer, lda: lda,
                          b: b.pointer, ldb: ldb, c: c.pointer, ldc: n)
            }
        }
        return 2.0 * Double(m * n * k) / s / 1e9
    }
    for n in [128, 256, 512, 1024] {
        printJSONLine([("name", "sgemm-\(n)"), ("gflops_1t", gflops(m: n, n: n, k: n, parallel: false)),
                       ("gflops_split", gflops(m: n, n: n, k: n, parallel: true)), ("threads", Parallel.threadCount)])
    }
    // vit-tiny, batch 128 × 50 tokens: qkv forward, its input gradient, its weight gradient.
    let shapes: [(String, Int, Int, Int, Bool, Bool)] = [
        ("vit-tiny-qkv-fwd", 6400, 576, 192, false, true),
        ("vit-tiny-qkv-dx", 6400, 192, 576, false, false),
        ("vit-tiny-qkv-dw", 576, 192, 6400, true, false),
        ("vit-tiny-fc1-fwd", 6400, 768, 192, false, true),
    ]
    for (name, m, n, k, ta, tb) in shapes {
        printJSONLine([("name", name), ("gflops_1t", gflops(m: m, n: n, k: k, transA: ta, transB: tb, parallel: false)),
                       ("gflops_split", gflops(m: m, n: n, k: k, transA: ta, transB: tb, parallel: true)),
                       ("threads", Parallel.threadCount)])
    }
}
