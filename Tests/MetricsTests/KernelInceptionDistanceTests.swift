import Foundation
import Testing
@testable import AutoProg

@Suite struct KernelInceptionDistanceTests {
    static func features(_ n: Int, _ d: Int, seed: UInt64, shift: Float = 0) -> Tensor {
        var stream = RandomStream(seed: seed, purpose: "test")
        let t = Tensor(uninitializedShape: [n, d])
        stream.fillNormal(t.pointer, count: t.count, mean: shift)
        return t
    }

    /// MMD²ᵤ written out term by term (Bińkowski et al. eq. 3, cubic kernel), in Float64.
    static func bruteForceMMD(_ x: Tensor, _ y: Tensor) -> Double {
        let (m, d) = (x.shape[0], x.shape[1])
        func k(_ a: Tensor, _ i: Int, _ b: Tensor, _ j: Int) -> Double {
            var dot = 0.0
            for c in 0..<d { dot += Double(a[i, c]) * Double(b[j, c]) }
            return pow(dot / Double(d) + 1, 3)
        }
        var xx = 0.0, yy = 0.0, xy = 0.0
        for i in 0..<m {
            for j in 0..<m {
                if i != j { xx += k(x, i, x, j); yy += k(y, i, y, j) }
                xy += k(x, i, y, j)
            }
        }
        return (xx + yy) / Double(m * (m - 1)) - 2 * xy / Double(m * m)
    }

    @Test func fullSizeSubsetsMatchTheDefinition() throws {
        // With subsets as large as the sets, every subset is the whole set in some order,
        // and MMD² does not depend on the order: each estimate equals the direct formula.
        let x = Self.features(40, 6, seed: 1), y = Self.features(40, 6, seed: 2, shift: 0.4)
        let kid = try kernelInceptionDistance(x, y, subsets: 5, subsetSize: 1000)
        let expected = Self.bruteForceMMD(x, y)
        #expect(kid.subsetSize == 40 && kid.subsets == 5)
        #expect(abs(kid.mean - expected) < 1e-12 * abs(expected), "\(kid.mean) vs \(expected)")
        #expect(kid.standardDeviation < 1e-12 * abs(expected))
    }

    @Test func identicalSetsAreNearZeroAndShiftedSetsPositive() throws {
        let x = Self.features(2000, 16, seed: 3)
        let same = try kernelInceptionDistance(x, x, subsets: 20, subsetSize: 500)
        let sameDistribution = try kernelInceptionDistance(x, Self.features(2000, 16, seed: 4), subsets: 20, subsetSize: 500)
        let shifted = try kernelInceptionDistance(x, Self.features(2000, 16, seed: 5, shift: 0.3), subsets: 20, subsetSize: 500)
        // An unbiased estimate: near zero (either sign) within its spread for one distribution.
        #expect(abs(same.mean) < 3 * same.standardDeviation + 1e-12, "\(same)")
        #expect(abs(sameDistribution.mean) < 3 * sameDistribution.standardDeviation, "\(sameDistribution)")
        #expect(shifted.mean > 0 && shifted.mean > 20 * abs(sameDistribution.mean) && shifted.mean > 5 * shifted.standardDeviation,
                "shifted \(shifted), same distribution \(sameDistribution)")
        // A larger shift is a larger distance.
        let further = try kernelInceptionDistance(x, Self.features(2000, 16, seed: 5, shift: 0.6), subsets: 20, subsetSize: 500)
        #expect(further.mean > 2 * shifted.mean)
    }

    @Test func subsetsFollowTheSeed() throws {
        let x = Self.features(300, 8, seed: 6), y = Self.features(300, 8, seed: 7, shift: 0.2)
        let a = try kernelInceptionDistance(x, y, subsets: 10, subsetSize: 100, seed: 1)
        let b = try kernelInceptionDistance(x, y, subsets: 10, subsetSize: 100, seed: 1)
        let c = try kernelInceptionDistance(x, y, subsets: 10, subsetSize: 100, seed: 2)
        #expect(a == b && a != c)
    }

    @Test func badInputIsAnError() {
        func message(_ body: () throws -> Void) -> String {
            do { try body(); return "" } catch { return String(describing: error) }
        }
        #expect(message { _ = try kernelInceptionDistance(Tensor.randn([1, 3]), Tensor.randn([5, 3])) }.contains("at least 2 vectors"))
        #expect(message { _ = try kernelInceptionDistance(Tensor.randn([5, 3]), Tensor.randn([5, 2])) }.contains("dimensions differ"))
        #expect(message { _ = try kernelInceptionDistance(Tensor.randn([5, 3]), Tensor.randn([5, 3]), subsets: 0) }.contains("subsets must be ≥ 1"))
    }
}
