import Foundation
import Testing
@testable import AutoProg

/// Naive reference for a broadcasting binary op: walks every output index and reads
/// each operand at the aligned index (0 along its size-1 or missing axes).
func naiveBroadcast(_ a: Tensor, _ b: Tensor, _ f: (Float, Float) -> Float) -> (shape: [Int], values: [Float]) {
    let rank = max(a.rank, b.rank)
    let pa = [Int](repeating: 1, count: rank - a.rank) + a.shape
    let pb = [Int](repeating: 1, count: rank - b.rank) + b.shape
    let shape = zip(pa, pb).map { max($0, $1) }
    let va = a.toArray(), vb = b.toArray()
    let sa = Tensor.contiguousStrides(for: pa), sb = Tensor.contiguousStrides(for: pb)
    let n = shape.reduce(1, *)
    var out = [Float](repeating: 0, count: n)
    for flat in 0..<n {
        var rest = flat, ia = 0, ib = 0
        for d in stride(from: rank - 1, through: 0, by: -1) {
            let i = rest % shape[d]
            rest /= shape[d]
            if pa[d] != 1 { ia += i * sa[d] }
            if pb[d] != 1 { ib += i * sb[d] }
        }
        out[flat] = f(va[ia], vb[ib])
    }
    return (shape, out)
}

@Suite struct ElementwiseTests {
    static let cases: [([Int], [Int])] = [
        ([2, 3, 4], [2, 3, 4]), ([2, 3, 4], [4]), ([2, 1, 4], [3, 1]), ([5, 3], [5, 1]),
        ([3, 4], []), ([], [2, 3]), ([1, 4], [3, 1]), ([4], [2, 3, 4]),
    ]

    @Test func broadcastShapes() throws {
        #expect(try broadcastShape([2, 3, 4], [4]) == [2, 3, 4])
        #expect(try broadcastShape([2, 1, 4], [3, 1]) == [2, 3, 4])
        #expect(try broadcastShape([], [5]) == [5])
        #expect(try broadcastShape([1], [0]) == [0])
        #expect { try broadcastShape([2, 3], [4]) } throws: { "\($0)".contains("[2, 3]") && "\($0)".contains("[4]") }
    }

    @Test func forwardMatchesNaiveForEveryBroadcastPattern() throws {
        let ops: [(String, (Tensor, Tensor) throws -> Tensor, (Float, Float) -> Float)] = [
            ("add", { try $0 + $1 }, { $0 + $1 }), ("sub", { try $0 - $1 }, { $0 - $1 }),
            ("mul", { try $0 * $1 }, { $0 * $1 }), ("div", { try $0 / $1 }, { $0 / $1 }),
        ]
        for (sa, sb) in Self.cases {
            let a = Tensor.randn(sa), b = Tensor.rand(sb, low: 0.5, high: 2)
            for (name, op, f) in ops {
                let y = try op(a, b), ref = naiveBroadcast(a, b, f)
                #expect(y.shape == ref.shape, "\(name) \(sa) \(sb)")
                #expect(y.toArray() == ref.values, "\(name) \(sa) \(sb)")
            }
        }
    }

    @Test func stridedOperandsAreReadInPlace() throws {
        // A transposed view, a slice with a gap and a stride-0 expansion as operands.
        let base = Tensor.randn([6, 5])
        let t = try base.transposed(0, 1)                        // [5, 6], strides [1, 5]
        let s = try Tensor.randn([5, 9]).sliced(axis: 1, 2..<8)  // [5, 6], row stride 9
        let y = try t * s
        #expect(y.toArray() == naiveBroadcast(t, s, *).values)
        let e = try Tensor.randn([5, 1]).expanded(to: [5, 6])
        #expect(try (t + e).toArray() == naiveBroadcast(t, e, +).values)
    }

    @Test func largeOperandsSplitAcrossThreads() throws {
        let a = Tensor.randn([300, 512]), b = Tensor.randn([300, 512]), bias = Tensor.randn([512])
        #expect(try (a + b).toArray() == naiveBroadcast(a, b, +).values)
        #expect(try (a * bias).toArray() == naiveBroadcast(a, bias, *).values)
        let column = Tensor.randn([300, 1])
        #expect(try (a - column).toArray() == naiveBroadcast(a, column, -).values)
    }

    @Test func scalarOperands() throws {
        let x = try Tensor([1, -2, 4], shape: [3])
        #expect(try (x + 1).toArray() == [2, -1, 5])
        #expect(try (x - 1).toArray() == [0, -3, 3])
        #expect(try (x * 2).toArray() == [2, -4, 8])
        #expect(try (x / 2).toArray() == [0.5, -1, 2])
        #expect(try (1 + x).toArray() == [2, -1, 5])
        #expect(try (1 - x).toArray() == [0, 3, -3])
        #expect(try (2 * x).toArray() == [2, -4, 8])
        #expect(try (4 / x).toArray() == [4, -2, 1])
        #expect((-x).toArray() == [-1, 2, -4])
    }

    @Test func mismatchedShapesNameBoth() {
        #expect { try Tensor.zeros([2, 3]) + Tensor.zeros([2, 4]) } throws: { error in
            "\(error)".hasPrefix("add:") && "\(error)".contains("[2, 3]") && "\(error)".contains("[2, 4]")
        }
        #expect { try Tensor.zeros([3]) * Tensor.zeros([4, 2]) } throws: { "\($0)".hasPrefix("mul:") }
    }

    @Test func binaryGradientsOverBroadcasts() throws {
        let check = GradientCheck()
        for (sa, sb) in Self.cases {
            let a = Tensor.randn(sa), b = Tensor.rand(sb, low: 0.5, high: 2)
            #expect(try check.mismatches([a, b]) { try $0[0] + $0[1] }.isEmpty, "add \(sa) \(sb)")
            #expect(try check.mismatches([a, b]) { try $0[0] - $0[1] }.isEmpty, "sub \(sa) \(sb)")
            #expect(try check.mismatches([a, b]) { try $0[0] * $0[1] }.isEmpty, "mul \(sa) \(sb)")
            #expect(try check.mismatches([a, b]) { try $0[0] / $0[1] }.isEmpty, "div \(sa) \(sb)")
        }
    }

    @Test func scalarAndNegationGradients() throws {
        let check = GradientCheck()
        let x = Tensor.rand([3, 4], low: 0.5, high: 2)
        #expect(try check.mismatches([x]) { try 3 / $0[0] }.isEmpty)
        #expect(try check.mismatches([x]) { try 1 - $0[0] * 2 }.isEmpty)
        #expect(try check.mismatches([x]) { try -$0[0] + 0.5 }.isEmpty)
        // The same tensor on both sides: both contributions accumulate.
        #expect(try check.mismatches([x]) { try $0[0] * $0[0] }.isEmpty)
    }

    @Test func constantOperandGetsNoGradient() throws {
        let x = Tensor.randn([2, 3]).requiringGrad(), c = Tensor.randn([3])
        try (x * c).backward(gradient: Tensor.ones([2, 3]))
        #expect(c.grad == nil)
        #expect(x.grad?.toArray() == naiveBroadcast(Tensor.ones([2, 3]), c, *).values)
    }

    @Test func unaryForwardMatchesFoundation() throws {
        let x = Tensor.rand([1000], low: 0.01, high: 50), v = x.toArray()
        let z = Tensor.randn([1000]), w = z.toArray()
        expectClose(x.log().toArray(), v.map { Foundation.log($0) }, tolerance: 1e-6)
        expectClose(x.sqrt().toArray(), v.map { $0.squareRoot() }, tolerance: 1e-7)
        expectClose(z.exp().toArray(), w.map { Foundation.exp($0) }, tolerance: 1e-6)
        #expect(z.squared().toArray() == w.map { $0 * $0 })
        #expect(z.abs().toArray() == w.map { Swift.abs($0) })
        expectClose(x.pow(1.7).toArray(), v.map { Foundation.pow($0, 1.7) }, tolerance: 1e-6)
        expectClose(x.pow(-0.5).toArray(), v.map { 1 / $0.squareRoot() }, tolerance: 1e-6)
        #expect(z.pow(3).toArray() == w.map { Foundation.pow($0, 3) })
        #expect(try z.clamped(min: -0.5, max: 0.5).toArray() == w.map { Swift.min(Swift.max($0, -0.5), 0.5) })
        #expect(try z.clamped(min: 0).toArray() == w.map { Swift.max($0, 0) })
    }

    @Test func logAcrossTheFloatRange() throws {
        // Powers of ten from subnormal to near the maximum, plus IEEE special values.
        let values: [Float] = (-44...38).map { Float("1e\($0)")! } + [Float.leastNonzeroMagnitude, 0.999999, 1.000001]
        let y = Tensor(values).log().toArray()
        for (v, l) in zip(values, y) {
            #expect(Swift.abs(Double(l) - Foundation.log(Double(v))) <= 2e-7 * Swift.max(1, Swift.abs(Foundation.log(Double(v)))), "log \(v)")
        }
        let special = Tensor([0, -1, .infinity, .nan]).log().toArray()
        #expect(special[0] == -.infinity)
        #expect(special[1].isNaN && special[3].isNaN)
        #expect(special[2] == .infinity)
    }

    @Test func unaryGradients() throws {
        let check = GradientCheck()
        let positive = Tensor.rand([4, 5], low: 0.5, high: 2)
        // Away from the kinks: |x| ≥ 0.2 and at least 0.1 from the clamp bounds.
        let signed = try Tensor((0..<20).map { i in Float(i % 2 == 0 ? 1 : -1) * (0.2 + 0.07 * Float(i)) }, shape: [4, 5])
        #expect(try check.mismatches([Tensor.randn([4, 5])]) { $0[0].exp() }.isEmpty)
        #expect(try check.mismatches([positive]) { $0[0].log() }.isEmpty)
        #expect(try check.mismatches([positive]) { $0[0].sqrt() }.isEmpty)
        #expect(try check.mismatches([signed]) { $0[0].squared() }.isEmpty)
        #expect(try check.mismatches([signed]) { $0[0].abs() }.isEmpty)
        for p: Float in [3, 2, 1.5, 0.5, -1, -0.5, -1.5, 0] {
            #expect(try check.mismatches([positive]) { $0[0].pow(p) }.isEmpty, "pow \(p)")
        }
        #expect(try check.mismatches([signed]) { try $0[0].clamped(min: -0.75, max: 0.95) }.isEmpty)
    }

    @Test func clampGradientIsZeroOutsideTheBounds() throws {
        let x = try Tensor([-2, -0.5, 0, 0.5, 2], shape: [5]).requiringGrad()
        try x.clamped(min: -1, max: 1).backward(gradient: Tensor.ones([5]))
        #expect(x.grad?.toArray() == [0, 1, 1, 1, 0])
        #expect { try x.clamped() } throws: { "\($0)".hasPrefix("clamp:") }
    }

    @Test func absGradientAtZeroIsZero() throws {
        let x = try Tensor([-3, 0, 2], shape: [3]).requiringGrad()
        try x.abs().backward(gradient: Tensor.full([3], 2))
        #expect(x.grad?.toArray() == [-2, 0, 2])
    }
}
