@testable import AutoProg

/// Shared helpers for the optimizer tests.
enum Support {
    static func parameter(_ values: [Float], _ shape: [Int], requiresGrad: Bool = true) throws -> Parameter {
        Parameter(try Tensor(values, shape: shape), requiresGrad: requiresGrad)
    }

    static func setGrad(_ p: Parameter, _ values: [Float]) {
        precondition(values.count == p.count)
        p.grad.pointer.update(from: values, count: values.count)
    }

    /// Largest |a − b| / max(1, |b|) over two equally long arrays.
    static func maxError(_ a: [Float], _ b: [Float]) -> Float {
        precondition(a.count == b.count)
        return zip(a, b).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? 0
    }

    /// The golden problem's parameters: weight, bias and a frozen matrix.
    static func goldenParameters() throws -> [Parameter] {
        try (0..<3).map { i in
            try parameter(TorchGolden.initial[i], TorchGolden.shapes[i], requiresGrad: i < 2)
        }
    }

    /// Deterministic pseudo-random values in [-1, 1) (no global RNG involved).
    static func values(_ n: Int, seed: UInt64) -> [Float] {
        var s = RandomStream(seed: seed, purpose: "optim-tests")
        return (0..<n).map { _ in s.nextFloat() * 2 - 1 }
    }
}
