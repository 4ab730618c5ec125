import Testing
@testable import AutoProg

/// Naive reference: C[i][j] = Σ_k A[i][k]·B[k][j] for dense row-major matrices.
func naiveMatmul(_ a: [Float], _ b: [Float], m: Int, k: Int, n: Int) -> [Float] {
    var c = [Float](repeating: 0, count: m * n)
    for i in 0..<m { for j in 0..<n {
        var s: Double = 0
        for p in 0..<k { s += Double(a[i * k + p]) * Double(b[p * n + j]) }
        c[i * n + j] = Float(s)
    } }
    return c
}

func expectClose(_ a: [Float], _ b: [Float], tolerance: Float = 1e-4, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(a.count == b.count, sourceLocation: sourceLocation)
    let worst = zip(a, b).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? 0
    #expect(worst <= tolerance, "max relative error \(worst)", sourceLocation: sourceLocation)
}

@Suite struct MatrixMultiplyTests {
    @Test func matchesNaiveReference() throws {
        let a = Tensor.randn([37, 53]), b = Tensor.randn([53, 29])
        expectClose(try matmul(a, b).toArray(), naiveMatmul(a.toArray(), b.toArray(), m: 37, k: 53, n: 29))
    }

    @Test func largeProductSplitAcrossThreads() throws {
        let a = Tensor.randn([300, 200]), b = Tensor.randn([200, 150])
        expectClose(try matmul(a, b).toArray(), naiveMatmul(a.toArray(), b.toArray(), m: 300, k: 200, n: 150))
    }

    @Test func transposedViewUsedInPlace() throws {
        let a = Tensor.randn([20, 30])
        let at = Tensor(storage: a.storage, offset: 0, shape: [30, 20], strides: [1, 30])  // aᵀ
        let b = Tensor.randn([20, 7])
        expectClose(try matmul(at, b).toArray(), naiveMatmul(at.toArray(), b.toArray(), m: 30, k: 20, n: 7))
    }

    @Test func shapeMismatchNamesBothShapes() {
        #expect { try matmul(Tensor.zeros([2, 3]), Tensor.zeros([4, 5])) } throws: { error in
            "\(error)".contains("[2, 3]") && "\(error)".contains("[4, 5]")
        }
    }

    @Test func gradients() throws {
        let check = GradientCheck()
        #expect(try check.mismatches([Tensor.randn([5, 7]), Tensor.randn([7, 4])]) { try matmul($0[0], $0[1]) }.isEmpty)
        // Batched, and a shared right-hand matrix broadcast over the batch.
        #expect(try check.mismatches([Tensor.randn([3, 5, 7]), Tensor.randn([3, 7, 4])]) { try matmul($0[0], $0[1]) }.isEmpty)
        #expect(try check.mismatches([Tensor.randn([3, 5, 7]), Tensor.randn([7, 4])]) { try matmul($0[0], $0[1]) }.isEmpty)
        #expect(try check.mismatches([Tensor.randn([5, 7]), Tensor.randn([2, 7, 4])]) { try matmul($0[0], $0[1]) }.isEmpty)
    }

    @Test func linearGradients() throws {
        let check = GradientCheck()
        #expect(try check.mismatches([Tensor.randn([2, 3, 6]), Tensor.randn([4, 6]), Tensor.randn([4])]) {
            try linear($0[0], weight: $0[1], bias: $0[2])
        }.isEmpty)
        #expect(try check.mismatches([Tensor.randn([5, 6]), Tensor.randn([4, 6])]) {
            try linear($0[0], weight: $0[1])
        }.isEmpty)
    }

    @Test func frozenWeightGetsNoGradientWork() throws {
        let x = Tensor.randn([4, 3]).requiringGrad()
        let w = Tensor.randn([2, 3])   // constant: a frozen weight
        let y = try linear(x, weight: w)
        try y.backward(gradient: Tensor.ones([4, 2]))
        #expect(x.grad != nil)
        #expect(w.grad == nil)
    }
}
