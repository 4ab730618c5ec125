import Foundation
import Testing
@testable import AutoProg

/// Naive softmax (or log-softmax) along `axis` of a dense tensor, in Double.
private func naiveSoftmax(_ x: Tensor, axis: Int, log: Bool) -> [Float] {
    let v = x.toArray()
    let outer = x.shape[..<axis].reduce(1, *), dim = x.shape[axis], inner = x.shape[(axis + 1)...].reduce(1, *)
    var out = [Float](repeating: 0, count: v.count)
    for o in 0..<outer { for i in 0..<inner {
        let idx = (0..<dim).map { o * dim * inner + $0 * inner + i }
        let m = idx.map { Double(v[$0]) }.max()!
        let s = idx.map { exp(Double(v[$0]) - m) }.reduce(0, +)
        for j in idx { out[j] = Float(log ? Double(v[j]) - m - Foundation.log(s) : exp(Double(v[j]) - m) / s) }
    } }
    return out
}

@Suite struct SoftmaxTests {
    @Test func matchesNaiveOnEveryAxis() throws {
        // 13 and 21 are not multiples of the 8 vector lanes: tails on both paths.
        let x = Tensor.randn([3, 13, 21], std: 3)
        for axis in 0..<3 {
            expectClose(try softmax(x, axis: axis).toArray(), naiveSoftmax(x, axis: axis, log: false), tolerance: 1e-6)
            expectClose(try logSoftmax(x, axis: axis).toArray(), naiveSoftmax(x, axis: axis, log: true), tolerance: 1e-5)
        }
        expectClose(try softmax(x, axis: -1).toArray(), naiveSoftmax(x, axis: 2, log: false), tolerance: 1e-6)
    }

    @Test func stableForHugeLogits() throws {
        let x = try Tensor([1000, 1000, -1000, 0, 88, 89], shape: [2, 3])
        let p = try softmax(x).toArray()
        expectClose(p, [0.5, 0.5, 0, 0, 0.2689414, 0.7310586], tolerance: 1e-6)
        // x − lse loses the bits of lse below its ulp (6e-5 at 1000), as in PyTorch.
        let l = try logSoftmax(x).toArray()
        expectClose(l, [-0.6931472, -0.6931472, -2000.6931, -89.313262, -1.3132617, -0.3132617], tolerance: 1e-4)
        #expect(try softmax(x, axis: 0).toArray().allSatisfy { $0.isFinite })
    }

    @Test func rowsSumToOne() throws {
        let p = try softmax(Tensor.randn([64, 100], std: 5)).toArray()
        for r in 0..<64 { #expect(abs(p[(r * 100)..<(r * 100 + 100)].reduce(0, +) - 1) < 1e-5) }
    }

    @Test func gradients() throws {
        let check = GradientCheck()
        let x = Tensor.randn([2, 5, 11])
        for axis in [-1, 1, 0] {
            #expect(try check.mismatches([x]) { try softmax($0[0], axis: axis) }.isEmpty)
            #expect(try check.mismatches([x]) { try logSoftmax($0[0], axis: axis) }.isEmpty)
        }
    }

    @Test func badAxisThrows() {
        #expect { try softmax(Tensor.zeros([2, 3]), axis: 2) } throws: { "\($0)".contains("softmax") && "\($0)".contains("[2, 3]") }
        #expect { try logSoftmax(Tensor.zeros([2, 3]), axis: -3) } throws: { "\($0)".contains("log_softmax") }
    }
}
