import Foundation
import Testing
@testable import AutoProg

@Suite struct TimestepEmbeddingTests {
    @Test func cosinesThenSines() throws {
        // dim 4: half 2, frequencies 1 and exp(−ln(10⁴)/2) = 0.01.
        let e = try timestepEmbedding(Tensor([0, 1]), dimension: 4)
        #expect(e.shape == [2, 4])
        expectClose(e.toArray(), [1, 1, 0, 0, Float(cos(1.0)), Float(cos(0.01)), Float(sin(1.0)), Float(sin(0.01))],
                    tolerance: 1e-6)
        // Odd dimension: a zero final column; maxPeriod changes the frequencies (100 → 1, 0.1).
        let odd = try timestepEmbedding(Tensor([2]), dimension: 5, maxPeriod: 100)
        expectClose(odd.toArray(), [Float(cos(2.0)), Float(cos(0.2)), Float(sin(2.0)), Float(sin(0.2)), 0], tolerance: 1e-6)
    }

    @Test func gradient() throws {
        #expect(try GradientCheck().mismatches([Tensor([0.3, 1.7, 4.2])]) {
            try timestepEmbedding($0[0], dimension: 7, maxPeriod: 50)
        }.isEmpty)
    }

    @Test func badInputThrows() {
        #expect(throws: TensorError.self) { try timestepEmbedding(Tensor.zeros([2, 1]), dimension: 4) }
        #expect(throws: TensorError.self) { try timestepEmbedding(Tensor([1]), dimension: 0) }
    }
}
