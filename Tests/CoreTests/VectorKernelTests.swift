import CKernels
import Foundation
import Testing

@Suite struct VectorKernelTests {
    func apply(_ kernel: (UnsafePointer<Float>?, UnsafeMutablePointer<Float>?, Int) -> Void, _ xs: [Float]) -> [Float] {
        var ys = [Float](repeating: 0, count: xs.count)
        kernel(xs, &ys, xs.count)
        return ys
    }

    @Test func expMatchesFoundationAcrossTheRange() {
        let xs = stride(from: Float(-87), through: 88, by: 0.0137).map { $0 }
        let ys = apply(ck_exp, xs)
        var worst = 0.0
        for (x, y) in zip(xs, ys) {
            let exact = Foundation.exp(Double(x))
            worst = max(worst, abs(Double(y) - exact) / exact)
        }
        #expect(worst < 4e-7)
    }

    @Test func tanhAndSigmoidMatchFoundation() {
        let xs = stride(from: Float(-20), through: 20, by: 0.00731).map { $0 }
        let t = apply(ck_tanh, xs), s = apply(ck_sigmoid, xs)
        var worstTanh = 0.0, worstSigmoid = 0.0
        for (i, x) in xs.enumerated() {
            let d = Double(x)
            worstTanh = max(worstTanh, abs(Double(t[i]) - Foundation.tanh(d)))
            worstSigmoid = max(worstSigmoid, abs(Double(s[i]) - 1 / (1 + Foundation.exp(-d))))
        }
        #expect(worstTanh < 3e-7)
        #expect(worstSigmoid < 3e-7)
    }

    @Test func specialValuesPropagate() {
        let ys = apply(ck_exp, [.nan, -.infinity, .infinity, -200, 200, 0, 0, 0, .nan])
        #expect(ys[0].isNaN && ys[8].isNaN)
        #expect(ys[1] == 0 && ys[3] == 0)
        #expect(ys[2] == .infinity && ys[4] == .infinity)
        #expect(apply(ck_tanh, [.nan])[0].isNaN)
        #expect(apply(ck_sigmoid, [.nan])[0].isNaN)
    }
}
