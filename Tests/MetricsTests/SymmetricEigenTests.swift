import Testing
@testable import AutoProg

@Suite struct SymmetricEigenTests {
    /// Q·diag(λ)·Qᵀ with Q the Householder reflection I − 2vvᵀ/vᵀv: a dense symmetric
    /// matrix whose eigenvalues and eigenvectors (the columns of Q) are known exactly.
    static func matrix(eigenvalues λ: [Double], v: [Double]) -> (a: [Double], q: [Double]) {
        let n = λ.count
        let vv = v.reduce(0) { $0 + $1 * $1 }
        var q = [Double](repeating: 0, count: n * n)
        for i in 0..<n { for j in 0..<n { q[i * n + j] = (i == j ? 1 : 0) - 2 * v[i] * v[j] / vv } }
        var a = [Double](repeating: 0, count: n * n)
        for i in 0..<n { for j in 0..<n { for k in 0..<n { a[i * n + j] += q[i * n + k] * λ[k] * q[j * n + k] } } }
        return (a, q)
    }

    @Test func knownEigenvaluesAndEigenvectors() throws {
        let λ = [-2.0, 0.5, 1, 3, 7]
        let n = λ.count
        let (a, q) = Self.matrix(eigenvalues: λ, v: [1, 2, 3, 4, 5])
        let (values, vectors) = try symmetricEigen(a, n: n)
        for (got, want) in zip(values, λ) { #expect(abs(got - want) < 1e-12, "\(values)") }
        for j in 0..<n {
            // A·v = λ·v for column j, and it is ± the known eigenvector (column j of Q).
            for i in 0..<n {
                let av = (0..<n).reduce(0.0) { $0 + a[i * n + $1] * vectors[$1 * n + j] }
                #expect(abs(av - values[j] * vectors[i * n + j]) < 1e-12)
            }
            let dot = (0..<n).reduce(0.0) { $0 + q[$1 * n + j] * vectors[$1 * n + j] }
            #expect(abs(abs(dot) - 1) < 1e-12)
            for k in 0..<n {
                let g = (0..<n).reduce(0.0) { $0 + vectors[$1 * n + j] * vectors[$1 * n + k] }
                #expect(abs(g - (j == k ? 1 : 0)) < 1e-12)
            }
        }
        let valuesOnly = try symmetricEigen(a, n: n, computeVectors: false)
        #expect(valuesOnly.vectors.isEmpty)
        for (got, want) in zip(valuesOnly.values, λ) { #expect(abs(got - want) < 1e-12) }
    }

    @Test func twoByTwoClosedForm() throws {
        // [[2, 1], [1, 2]]: eigenvalues 1 and 3 with eigenvectors (1, −1)/√2 and (1, 1)/√2.
        let (values, v) = try symmetricEigen([2, 1, 1, 2], n: 2)
        #expect(abs(values[0] - 1) < 1e-15 && abs(values[1] - 3) < 1e-15)
        #expect(abs(abs(v[0]) - 0.5.squareRoot()) < 1e-15 && abs(v[0] + v[2]) < 1e-15)
        #expect(abs(v[1] - v[3]) < 1e-15)
    }

    @Test func squareRootSquaresBack() throws {
        // A full-rank SPD matrix and a rank-2 PSD one (whose zero eigenvalues come out as ±ε).
        var stream = RandomStream(seed: 7, purpose: "test")
        let n = 6
        for rank in [n, 2] {
            var b = [Float](repeating: 0, count: n * rank)
            stream.fillNormal(&b, count: b.count)
            var a = [Double](repeating: 0, count: n * n)
            for i in 0..<n { for j in 0..<n { for k in 0..<rank { a[i * n + j] += Double(b[i * rank + k]) * Double(b[j * rank + k]) } } }
            let s = try symmetricPSDSquareRoot(a, n: n)
            let scale = a.map(abs).max()!
            for i in 0..<n {
                for j in 0..<n {
                    #expect(s[i * n + j] == s[j * n + i])
                    let ss = (0..<n).reduce(0.0) { $0 + s[i * n + $1] * s[$1 * n + j] }
                    #expect(abs(ss - a[i * n + j]) < 1e-12 * scale, "rank \(rank): (S·S)[\(i),\(j)] = \(ss), A = \(a[i * n + j])")
                }
            }
            // S is PSD: its eigenvalues are the square roots of A's.
            let roots = try symmetricEigen(s, n: n, computeVectors: false).values
            let expected = try symmetricEigen(a, n: n, computeVectors: false).values.map { max($0, 0).squareRoot() }
            for (r, e) in zip(roots, expected) { #expect(abs(r - e) < 1e-6 * scale.squareRoot()) }
        }
        // diag(4, 9) → diag(2, 3).
        let d = try symmetricPSDSquareRoot([4, 0, 0, 9], n: 2)
        for (got, want) in zip(d, [2.0, 0, 0, 3]) { #expect(abs(got - want) < 1e-15, "\(d)") }
    }

    @Test func badInputIsAnError() {
        func message(_ body: () throws -> Void) -> String {
            do { try body(); return "" } catch { return String(describing: error) }
        }
        #expect(message { _ = try symmetricEigen([1, 2, 3], n: 2) }.contains("3 values do not form a 2×2 matrix"))
        #expect(message { _ = try symmetricEigen([1, .nan, .nan, 1], n: 2) }.contains("entry (0, 1) is nan"))
        #expect(message { _ = try symmetricEigen([1, 2, 0, 1], n: 2) }.contains("not symmetric"))
        #expect(message { _ = try symmetricEigen([], n: 0) }.contains("must be ≥ 1"))
        #expect(message { _ = try symmetricPSDSquareRoot([1, 0, 0, -1], n: 2) }.contains("not positive semi-definite"))
    }
}
