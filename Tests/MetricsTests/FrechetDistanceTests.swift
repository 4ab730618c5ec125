import Testing
@testable import AutoProg

@Suite struct FrechetDistanceTests {
    /// N samples of N(mean, diag(std²)) as an [N, D] tensor, from a seeded stream.
    static func gaussian(count n: Int, mean: [Double], std: [Double], seed: UInt64) -> Tensor {
        let d = mean.count
        var stream = RandomStream(seed: seed, purpose: "test")
        let t = Tensor(uninitializedShape: [n, d])
        stream.fillNormal(t.pointer, count: n * d)
        for i in 0..<n { for j in 0..<d { t.pointer[i * d + j] = Float(mean[j] + std[j] * Double(t.pointer[i * d + j])) } }
        return t
    }

    @Test func covarianceIsUnbiasedLikeNumpyCov() throws {
        // np.cov([[1, 2], [3, 5], [5, 11]], rowvar=False) = [[4, 9], [9, 21]], mean (3, 6).
        let s = try FeatureStatistics(features: Tensor([1, 2, 3, 5, 5, 11], shape: [3, 2]))
        #expect(s.mean == [3, 6] && s.count == 3 && s.dimension == 2)
        #expect(s.covariance == [4, 9, 9, 21])
        #expect(s.trace == 25)
    }

    @Test func distanceOfASetToItselfIsZero() throws {
        // Full rank (500 × 32) and rank-deficient (10 samples of 64 features, where
        // sqrtm(Σ·Σ) of a singular product is the fragile case).
        for (n, d) in [(500, 32), (10, 64)] {
            var stream = RandomStream(seed: UInt64(n), purpose: "test")
            let x = Tensor(uninitializedShape: [n, d])
            stream.fillNormal(x.pointer, count: n * d, mean: 0.3, std: 2)
            let s = try FeatureStatistics(features: x)
            let fid = try frechetDistance(s, s)
            #expect(abs(fid) <= 1e-6 * 2 * s.trace, "n=\(n), d=\(d): FID \(fid), tr Σ \(s.trace)")
        }
    }

    @Test func diagonalGaussiansMatchTheClosedForm() throws {
        // With commuting (diagonal) covariances FID = ‖μ₁ − μ₂‖² + Σ (σ₁ − σ₂)².
        let (m1, m2) = ([0.0, 1, -2, 0.5], [1.0, 1, 0, -0.5])
        let (s1, s2) = ([1.0, 2, 0.5, 3], [2.0, 0.5, 0.5, 1])
        let closed = zip(m1, m2).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }
            + zip(s1, s2).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }
        func diagonal(_ s: [Double]) -> [Double] {
            var c = [Double](repeating: 0, count: s.count * s.count)
            for (i, v) in s.enumerated() { c[i * s.count + i] = v * v }
            return c
        }
        let a = try FeatureStatistics(mean: m1, covariance: diagonal(s1))
        let b = try FeatureStatistics(mean: m2, covariance: diagonal(s2))
        #expect(abs(try frechetDistance(a, b) - closed) < 1e-12 * closed)

        // The same from 40,000 samples each: the estimate's error is the sampling error,
        // about σ/√N per moment (≈ 0.01 here), far below the distance (12.75).
        let fromSamples = try frechetDistance(Self.gaussian(count: 40_000, mean: m1, std: s1, seed: 1),
                                              Self.gaussian(count: 40_000, mean: m2, std: s2, seed: 2))
        #expect(abs(fromSamples - closed) < 0.1, "sampled FID \(fromSamples), closed form \(closed)")
    }

    @Test func nonCommutingCovariancesMatchTheClosedForm() throws {
        // For 2×2 PSD Σ₁, Σ₂: tr((Σ₁Σ₂)^½) = √(tr(Σ₁Σ₂) + 2·√(det Σ₁ · det Σ₂)), since the
        // product's eigenvalues a, b are non-negative and (√a + √b)² = a + b + 2√(ab).
        let c1: [Double] = [2, 0.8, 0.8, 1], c2: [Double] = [0.5, -0.3, -0.3, 3]
        let trProduct = c1[0] * c2[0] + c1[1] * c2[2] + c1[2] * c2[1] + c1[3] * c2[3]
        let det1 = c1[0] * c1[3] - c1[1] * c1[2], det2 = c2[0] * c2[3] - c2[1] * c2[2]
        let crossTerm = (trProduct + 2 * (det1 * det2).squareRoot()).squareRoot()
        let closed = 1.0 * 1.0 + 2.0 * 2.0 + (c1[0] + c1[3]) + (c2[0] + c2[3]) - 2 * crossTerm
        let a = try FeatureStatistics(mean: [0, 0], covariance: c1), b = try FeatureStatistics(mean: [1, -2], covariance: c2)
        #expect(abs(try frechetDistance(a, b) - closed) < 1e-12 * closed)
        #expect(abs(try frechetDistance(b, a) - closed) < 1e-12 * closed)
    }

    @Test func distanceIsSymmetric() throws {
        var stream = RandomStream(seed: 3, purpose: "test")
        let x = Tensor(uninitializedShape: [300, 16]), y = Tensor(uninitializedShape: [200, 16])
        stream.fillNormal(x.pointer, count: x.count)
        stream.fillUniform(y.pointer, count: y.count, low: -1, high: 2)
        // Mix the columns so that the two covariances do not commute.
        let mixed = try matmul(y, Tensor.rand([16, 16], low: -1, high: 1))
        let ab = try frechetDistance(x, mixed), ba = try frechetDistance(mixed, x)
        #expect(ab > 1 && abs(ab - ba) < 1e-9 * ab, "\(ab) vs \(ba)")
    }

    @Test func badInputIsAnError() {
        func message(_ body: () throws -> Void) -> String {
            do { try body(); return "" } catch { return String(describing: error) }
        }
        #expect(message { _ = try FeatureStatistics(features: Tensor.zeros([1, 4])) }.contains("at least 2 feature vectors"))
        #expect(message { _ = try FeatureStatistics(features: Tensor.zeros([4])) }.contains("must be [N, D]"))
        #expect(message { _ = try FeatureStatistics(features: Tensor([0, 1, .nan, 2], shape: [2, 2])) }.contains("feature 0 of vector 1 is nan"))
        #expect(message { _ = try frechetDistance(Tensor.randn([5, 3]), Tensor.randn([5, 4])) }.contains("feature dimensions differ: 3 and 4"))
        #expect(message { _ = try FeatureStatistics(mean: [0, 0], covariance: [1, 0, 0]) }.contains("does not match a mean of dimension 2"))
    }
}
