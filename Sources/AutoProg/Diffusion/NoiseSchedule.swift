import Foundation

/// The variances β_t of a discrete diffusion process and every array derived from them,
/// computed in Float64 as improved-diffusion / DiT do (`GaussianDiffusion.__init__`),
/// indexed by step t = 0..<count (t = 0 is the first noising step).
///
/// The arrays keep ADM's names so the formulas that use them read like the reference:
/// ᾱ_t = Π_{s≤t}(1 − β_s); the posterior q(x_{t−1} | x_t, x_0) has mean
/// coef1·x_0 + coef2·x_t and variance β_t(1 − ᾱ_{t−1})/(1 − ᾱ_t).
public struct NoiseSchedule: Sendable, Equatable {
    /// The named β schedules of improved-diffusion's `get_named_beta_schedule`.
    public enum Kind: String, CaseIterable, Sendable {
        /// Ho et al.'s linear schedule, stretched to any length: β from 1e-4·1000/T to
        /// 0.02·1000/T (DiT's default).
        case linear
        /// Nichol & Dhariwal's cosine schedule, ᾱ(t) ∝ cos²((t/T + s)/(1 + s)·π/2), s = 0.008,
        /// each β capped at 0.999 (ADM's "squaredcos_cap_v2").
        case cosine

        public static func named(_ name: String) throws -> Kind {
            guard let kind = Kind(rawValue: name) else {
                throw DiffusionError("unknown noise schedule \"\(name)\" (valid: \(Kind.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            return kind
        }
    }

    public let betas: [Double]
    public let alphasCumprod: [Double]
    /// ᾱ_{t−1}, with ᾱ_{−1} = 1.
    public let alphasCumprodPrev: [Double]
    /// ᾱ_{t+1}, with ᾱ_T = 0 (used by DDIM inversion).
    public let alphasCumprodNext: [Double]
    public let sqrtAlphasCumprod: [Double]
    public let sqrtOneMinusAlphasCumprod: [Double]
    public let logOneMinusAlphasCumprod: [Double]
    /// 1/√ᾱ_t.
    public let sqrtRecipAlphasCumprod: [Double]
    /// √(1/ᾱ_t − 1).
    public let sqrtRecipm1AlphasCumprod: [Double]
    /// β̃_t = β_t(1 − ᾱ_{t−1})/(1 − ᾱ_t); 0 at t = 0.
    public let posteriorVariance: [Double]
    /// log β̃_t with the first entry (log 0) replaced by the second, as ADM does. A
    /// one-step process has no second entry; it uses log β_0 instead.
    public let posteriorLogVarianceClipped: [Double]
    /// Coefficient of x_0 in the posterior mean: β_t√ᾱ_{t−1}/(1 − ᾱ_t).
    public let posteriorMeanCoef1: [Double]
    /// Coefficient of x_t in the posterior mean: (1 − ᾱ_{t−1})√α_t/(1 − ᾱ_t).
    public let posteriorMeanCoef2: [Double]

    /// Number of diffusion steps T.
    public var count: Int { betas.count }

    /// The schedule of the given βs, each in (0, 1].
    public init(betas: [Double]) throws {
        guard !betas.isEmpty else { throw DiffusionError("a noise schedule needs at least one step (got 0 betas)") }
        if let bad = betas.firstIndex(where: { !($0 > 0 && $0 <= 1) }) {
            throw DiffusionError("beta[\(bad)] = \(betas[bad]) is outside (0, 1]")
        }
        self.betas = betas
        let n = betas.count
        var cumulative = [Double](repeating: 0, count: n)
        var product = 1.0
        for t in 0..<n {
            product *= 1 - betas[t]
            cumulative[t] = product
        }
        alphasCumprod = cumulative
        alphasCumprodPrev = [1] + cumulative.dropLast()
        alphasCumprodNext = Array(cumulative.dropFirst()) + [0]
        sqrtAlphasCumprod = cumulative.map { $0.squareRoot() }
        sqrtOneMinusAlphasCumprod = cumulative.map { (1 - $0).squareRoot() }
        logOneMinusAlphasCumprod = cumulative.map { Foundation.log(1 - $0) }
        sqrtRecipAlphasCumprod = cumulative.map { (1 / $0).squareRoot() }
        sqrtRecipm1AlphasCumprod = cumulative.map { (1 / $0 - 1).squareRoot() }
        let previous = alphasCumprodPrev
        var variance = [Double](repeating: 0, count: n)
        var coef1 = variance, coef2 = variance
        for t in 0..<n {
            let beta = betas[t], abar = cumulative[t], abarPrev = previous[t]
            variance[t] = beta * (1 - abarPrev) / (1 - abar)
            coef1[t] = beta * abarPrev.squareRoot() / (1 - abar)
            coef2[t] = (1 - abarPrev) * (1 - beta).squareRoot() / (1 - abar)
        }
        posteriorVariance = variance
        let clipped = n > 1 ? [variance[1]] + variance[1...] : [betas[0]]
        posteriorLogVarianceClipped = clipped.map { Foundation.log($0) }
        posteriorMeanCoef1 = coef1
        posteriorMeanCoef2 = coef2
    }

    /// A named schedule of `steps` steps (1000 by default, as DiT and ADM train).
    public init(_ kind: Kind, steps: Int = 1000) throws {
        guard steps > 0 else { throw DiffusionError("a \(kind.rawValue) noise schedule needs steps > 0, got \(steps)") }
        switch kind {
        case .linear:
            let scale = 1000 / Double(steps)
            let start = scale * 0.0001, end = scale * 0.02
            guard end <= 1 else {
                throw DiffusionError("the linear schedule needs steps ≥ 20 (its last beta 0.02·1000/\(steps) = \(end) exceeds 1)")
            }
            try self.init(betas: NoiseSchedule.linspace(start, end, count: steps))
        case .cosine:
            try self.init(betas: NoiseSchedule.betasForAlphaBar(steps: steps, maxBeta: 0.999) { t in
                let c = cos((t + 0.008) / 1.008 * Double.pi / 2)
                return c * c
            })
        }
    }

    /// `numpy.linspace(start, end, count)`: start + i·step, with the last value exactly `end`.
    static func linspace(_ start: Double, _ end: Double, count: Int) -> [Double] {
        guard count > 1 else { return [start] }
        let step = (end - start) / Double(count - 1)
        var values = (0..<count).map { Double($0) * step + start }
        values[count - 1] = end
        return values
    }

    /// βs discretising a continuous ᾱ(t), t ∈ [0, 1]: β_i = min(1 − ᾱ((i+1)/T)/ᾱ(i/T), maxBeta).
    static func betasForAlphaBar(steps: Int, maxBeta: Double, _ alphaBar: (Double) -> Double) -> [Double] {
        (0..<steps).map { i in
            let t1 = Double(i) / Double(steps), t2 = Double(i + 1) / Double(steps)
            return Swift.min(1 - alphaBar(t2) / alphaBar(t1), maxBeta)
        }
    }
}
