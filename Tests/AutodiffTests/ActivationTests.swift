import Foundation
import Testing
import CKernels
@testable import AutoProg

/// Largest |a − b| / max(1, |b|) over paired values.
private func worstError(_ a: [Float], _ b: [Double]) -> Double {
    zip(a, b).map { abs(Double($0) - $1) / max(1, abs($1)) }.max() ?? 0
}

/// Points spread over [-range, range] plus the endpoints, as a tensor.
private func sweep(_ count: Int, range: Float) -> [Float] {
    (0..<count).map { -range + 2 * range * Float($0) / Float(count - 1) }
}

/// Inputs for gradient checks: N(0, 1.5²) nudged away from 0 (ReLU's kink).
private func awayFromZero(_ shape: [Int]) -> Tensor {
    let t = Tensor.randn(shape, std: 1.5)
    for i in 0..<t.count where abs(t.pointer[i]) < 0.1 { t.pointer[i] += t.pointer[i] < 0 ? -0.2 : 0.2 }
    return t
}

@Suite struct ActivationTests {
    @Test func knownValues() throws {
        let x = Tensor([1, -1, 0, 2.5])
        expectClose(gelu(x).toArray(), [0.8413447, -0.1586553, 0, 2.4844758], tolerance: 1e-6)
        expectClose(gelu(x, approximation: .tanh).toArray(), [0.8411920, -0.1588080, 0, 2.4849157], tolerance: 1e-6)
        expectClose(silu(x).toArray(), [0.7310586, -0.2689414, 0, 2.3103545], tolerance: 1e-6)
        expectClose(sigmoid(x).toArray(), [0.7310586, 0.2689414, 0.5, 0.9241418], tolerance: 1e-6)
        expectClose(tanh(x).toArray(), [0.7615942, -0.7615942, 0, 0.9866143], tolerance: 1e-6)
        expectClose(relu(x).toArray(), [1, 0, 0, 2.5], tolerance: 0)
    }

    @Test func foundationTanhStillResolvesForNumbers() {
        // The Tensor overload must not shadow Foundation's scalar tanh.
        let f: Float = 0.5, d: Double = 0.5
        #expect(abs(tanh(f) - 0.46211716) < 1e-7)
        #expect(abs(tanh(d) - 0.46211715726000974) < 1e-15)
    }

    @Test func forwardMatchesReferences() throws {
        // 1003 elements: full vectors plus a masked tail; wide range covers saturation.
        let v = sweep(1003, range: 12)
        let x = try Tensor(v, shape: [17, 59])
        let d = v.map(Double.init)
        let k = (2 / Double.pi).squareRoot()
        #expect(worstError(gelu(x).toArray(), d.map { 0.5 * $0 * (1 + erf($0 / 2.0.squareRoot())) }) < 1e-6)
        #expect(worstError(gelu(x, approximation: .tanh).toArray(),
                           d.map { 0.5 * $0 * (1 + Foundation.tanh(k * ($0 + 0.044715 * $0 * $0 * $0))) }) < 1e-6)
        #expect(worstError(silu(x).toArray(), d.map { $0 / (1 + exp(-$0)) }) < 1e-6)
        #expect(worstError(sigmoid(x).toArray(), d.map { 1 / (1 + exp(-$0)) }) < 1e-6)
        #expect(worstError(tanh(x).toArray(), d.map { Foundation.tanh($0) }) < 1e-6)
        #expect(worstError(relu(x).toArray(), d.map { max($0, 0) }) == 0)
    }

    @Test func nonContiguousInputIsRead() throws {
        let a = Tensor.randn([6, 4])
        let at = Tensor(storage: a.storage, offset: 0, shape: [4, 6], strides: [1, 4])
        expectClose(gelu(at).toArray(), gelu(at.clone()).toArray(), tolerance: 0)
    }

    @Test func nanPropagates() throws {
        let x = Tensor([.nan, 1, .nan, -3, 0, 2, 5, 7, .nan])
        for y in [gelu(x), gelu(x, approximation: .tanh), silu(x), sigmoid(x), tanh(x), relu(x)] {
            let v = y.toArray()
            #expect(v[0].isNaN && v[2].isNaN && v[8].isNaN && v[1].isFinite)
        }
    }

    @Test func gradients() throws {
        let check = GradientCheck()
        let x = awayFromZero([3, 11])
        #expect(try check.mismatches([x]) { gelu($0[0]) }.isEmpty)
        #expect(try check.mismatches([x]) { gelu($0[0], approximation: .tanh) }.isEmpty)
        #expect(try check.mismatches([x]) { silu($0[0]) }.isEmpty)
        #expect(try check.mismatches([x]) { sigmoid($0[0]) }.isEmpty)
        #expect(try check.mismatches([x]) { tanh($0[0]) }.isEmpty)
        #expect(try check.mismatches([x]) { relu($0[0]) }.isEmpty)
    }

    @Test func gradientsInSaturatedRange() throws {
        // Large |x|: derivatives must go to 0 (or 1), never NaN from ∞·0.
        let x = Tensor([-120, -40, -9, 9, 40, 120]).requiringGrad()
        for f in [{ gelu($0) }, { gelu($0, approximation: .tanh) }, { silu($0) }, { sigmoid($0) }, { tanh($0) }] as [(Tensor) -> Tensor] {
            let y = f(x)
            try y.backward(gradient: Tensor.ones([6]))
            let g = x.grad!.toArray()
            #expect(g.allSatisfy { $0.isFinite })
            x.gradNode?.grad = nil
        }
    }

    // MARK: Kernel accuracy against Foundation (Double) on 10⁵ points.

    private func kernel(_ f: (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void, _ x: [Float]) -> [Float] {
        var y = [Float](repeating: 0, count: x.count)
        x.withUnsafeBufferPointer { xs in y.withUnsafeMutableBufferPointer { f(xs.baseAddress!, $0.baseAddress!, x.count) } }
        return y
    }

    @Test func expKernelAccuracy() {
        let x = sweep(100_001, range: 87)
        let y = kernel({ ck_exp($0, $1, $2) }, x)
        let worst = zip(x, y).map { abs(Double($1) - exp(Double($0))) / exp(Double($0)) }.max()!
        #expect(worst < 1e-6, "relative error \(worst)")
        let edges = kernel({ ck_exp($0, $1, $2) }, [-1000, -100, 0, 100, 1000, 88.5])
        #expect(edges[0] == 0 && edges[1] == 0 && edges[2] == 1 && edges[3] == .infinity && edges[4] == .infinity)
        #expect(abs(Double(edges[5]) - exp(88.5)) / exp(88.5) < 1e-6)
    }

    @Test func erfKernelAccuracy() {
        let x = sweep(100_001, range: 10) + [-1e30, -50, 50, 1e30, 1e-20, -1e-20]
        let y = kernel({ ck_erf($0, $1, $2) }, x)
        let worst = zip(x, y).map { abs(Double($1) - erf(Double($0))) }.max()!
        #expect(worst < 1e-6, "absolute error \(worst)")
        #expect(y.allSatisfy { abs($0) <= 1 })
    }

    @Test func tanhKernelAccuracy() {
        let x = sweep(100_001, range: 20) + [-1e30, -100, 100, 1e30, 1e-20, -1e-20]
        let y = kernel({ ck_tanh_forward($0, $1, $2) }, x)
        let worst = zip(x, y).map { abs(Double($1) - Foundation.tanh(Double($0))) }.max()!
        #expect(worst < 1e-6, "absolute error \(worst)")
    }
}
