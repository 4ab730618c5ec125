import Testing
@testable import AutoProg

@Suite struct GradientClippingTests {
    /// Gradients (3, 4) and (12): joint 2-norm 13; clipped to 6.5 they halve (up to the 1e-6 guard).
    @Test func scalesDownToMaxNorm() throws {
        let a = try Support.parameter([0, 0], [2]), b = try Support.parameter([0], [1, 1])
        Support.setGrad(a, [3, 4]); Support.setGrad(b, [12])
        let norm = try clipGradientNorm([a, b], maxNorm: 6.5)
        #expect(norm == 13)
        let c: Float = 6.5 / (13 + 1e-6)
        #expect(a.grad.toArray() == [3 * c, 4 * c] && b.grad.toArray() == [12 * c])
        #expect(abs(try gradientNormOf([a, b]) - 6.5) < 1e-5)
    }

    @Test func leavesSmallGradientsAlone() throws {
        let a = try Support.parameter([0, 0], [2])
        Support.setGrad(a, [3, 4])
        #expect(try clipGradientNorm([a], maxNorm: 6) == 5)
        #expect(a.grad.toArray() == [3, 4])
    }

    /// Frozen parameters neither count towards the norm nor get scaled.
    @Test func ignoresFrozenParameters() throws {
        let a = try Support.parameter([0, 0], [2]), frozen = try Support.parameter([0], [1], requiresGrad: false)
        Support.setGrad(a, [3, 4]); Support.setGrad(frozen, [100])
        #expect(try clipGradientNorm([a, frozen], maxNorm: 1) == 5)
        #expect(frozen.grad.toArray() == [100])
    }

    @Test func infinityNorm() throws {
        let a = try Support.parameter([0, 0, 0], [3]), b = try Support.parameter(Array(repeating: 0, count: 11), [11])
        Support.setGrad(a, [1, -7, 2]); Support.setGrad(b, (0..<11).map { Float($0) * 0.5 })
        #expect(try clipGradientNorm([a, b], maxNorm: 3.5, normType: .infinity) == 7)
        #expect(abs(a.grad.pointer[1] + 3.5) < 1e-5)
    }

    @Test func generalPNorm() throws {
        let a = try Support.parameter([0, 0], [2])
        Support.setGrad(a, [3, 4])
        let norm = try clipGradientNorm([a], maxNorm: 100, normType: 1)
        #expect(norm == 7)
    }

    /// A non-finite norm is returned and the gradients are left for the caller to skip the step.
    @Test func nonFiniteNormIsReported() throws {
        let a = try Support.parameter([0, 0], [2])
        Support.setGrad(a, [.nan, 1])
        #expect(try clipGradientNorm([a], maxNorm: 1).isNaN)
        #expect(a.grad.pointer[1] == 1)
        Support.setGrad(a, [.infinity, 1])
        #expect(try clipGradientNorm([a], maxNorm: 1) == .infinity)
        #expect(throws: OptimizerError.self) { try clipGradientNorm([a], maxNorm: 1, errorIfNonFinite: true) }
        #expect(throws: OptimizerError.self) { try clipGradientNorm([a], maxNorm: -1) }
    }

    private func gradientNormOf(_ ps: [Parameter]) throws -> Float {
        ps.flatMap { $0.grad.toArray() }.map { $0 * $0 }.reduce(0, +).squareRoot()
    }
}
