import Foundation

/// Scalar draws the augmentations need beyond `RandomStream`'s fills: uniform on a
/// range, standard normal, Gamma and Beta (numpy's `random.uniform`, `gamma`, `beta`).
/// Each scalar draw consumes whole Philox blocks, so a sequence of draws is reproducible.
extension RandomStream {
    /// U(range.lowerBound, range.upperBound); exactly the bound when the range is one point.
    mutating func nextUniform(in range: ClosedRange<Float>) -> Float {
        let u = nextFloat()
        return range.lowerBound == range.upperBound ? range.lowerBound
            : range.lowerBound + (range.upperBound - range.lowerBound) * u
    }

    /// A uniform integer in `range` (Python's `random.randint(a, b)`, both ends included).
    mutating func nextInt(in range: ClosedRange<Int>) -> Int {
        range.lowerBound + nextInt(below: range.count)
    }

    /// N(0, 1) by Box–Muller on one block (53-bit uniforms, so the tails are not cut at 24 bits).
    mutating func nextNormal() -> Double {
        let (a, b, c, d) = philox.nextBlock()
        let u1 = (Double(UInt64(a) << 21 | UInt64(b) >> 11) + 0.5) / 9_007_199_254_740_992
        let u2 = (Double(UInt64(c) << 21 | UInt64(d) >> 11) + 0.5) / 9_007_199_254_740_992
        return (-2 * Foundation.log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }

    /// Uniform on (0, 1) with 53 bits.
    mutating func nextUnitDouble() -> Double {
        let (a, b, _, _) = philox.nextBlock()
        return (Double(UInt64(a) << 21 | UInt64(b) >> 11) + 0.5) / 9_007_199_254_740_992
    }

    /// Gamma(shape, 1) by Marsaglia & Tsang (2000), "A simple method for generating gamma
    /// variables": a squeezed rejection from a transformed normal, for shape ≥ 1; shapes
    /// below 1 use Gamma(shape + 1)·U^(1/shape).
    public mutating func nextGamma(shape: Double) -> Double {
        precondition(shape > 0, "Gamma shape must be positive")
        if shape < 1 {
            let g = nextGamma(shape: shape + 1)
            return g * Foundation.pow(nextUnitDouble(), 1 / shape)
        }
        let d = shape - 1.0 / 3, c = 1 / (9 * d).squareRoot()
        while true {
            let x = nextNormal()
            let t = 1 + c * x
            if t <= 0 { continue }
            let v = t * t * t
            let u = nextUnitDouble()
            if u < 1 - 0.0331 * x * x * x * x { return d * v }
            if Foundation.log(u) < 0.5 * x * x + d * (1 - v + Foundation.log(v)) { return d * v }
        }
    }

    /// Beta(a, b) as X / (X + Y) with X ~ Gamma(a), Y ~ Gamma(b) (`np.random.beta`).
    public mutating func nextBeta(_ a: Double, _ b: Double) -> Double {
        let x = nextGamma(shape: a), y = nextGamma(shape: b)
        return x / (x + y)
    }
}
