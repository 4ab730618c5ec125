/// The levels progressive fine-tuning moves through (AutoProg §4, DESIGN §5): K training
/// resolutions r_k, the ratios linspace(s₁, 1, K) of the full size rounded up to a size the
/// model takes (a multiple of DiT's patch size, `validResolutions`), and K learnable
/// fractions l_k = (k+1)/K of the blocks. s₁ = ¼ gives the paper's {¼, ½, ¾, 1}; a larger
/// s₁ (the reference code's `--r_scale`) keeps the smallest stage from shrinking a small
/// image to a grid of a few patches.
public struct FineTuneLevels: Equatable, Sendable {
    public let resolutions: [Int]
    public let fractions: [Double]

    public init(fullResolution: Int, multiple: Int, count: Int, smallestResolutionRatio s1: Double = 0.25) throws {
        guard count >= 1 else { throw TensorError("finetune", "progressive fine-tuning needs at least 1 stage, not \(count)") }
        guard s1 > 0, s1 <= 1 else {
            throw TensorError("finetune", "the smallest resolution ratio s₁ must be in (0, 1], not \(s1)")
        }
        fractions = (1...count).map { Double($0) / Double(count) }
        // One size per level (two levels may share a size on small images).
        resolutions = try (0..<count).map {
            try validResolutions(full: fullResolution, patch: multiple,
                                 fractions: [linspaceRatio(stage: $0, of: count, smallest: s1)])[0]
        }
    }

    public var count: Int { fractions.count }
    public var full: FineTuneCandidate { FineTuneCandidate(resolutionLevel: count - 1, fractionLevel: count - 1) }

    public func resolution(_ c: FineTuneCandidate) -> Int { resolutions[c.resolutionLevel] }
    public func fraction(_ c: FineTuneCandidate) -> Double { fractions[c.fractionLevel] }

    /// AutoProg-Zero's candidates from `current`: {current, next} resolution × {current,
    /// next} fraction (fewer at the top levels), smallest first; from nothing (the first
    /// stage), those of the lowest levels.
    public func candidates(after current: FineTuneCandidate?) -> [FineTuneCandidate] {
        let r0 = current?.resolutionLevel ?? 0, l0 = current?.fractionLevel ?? 0
        let rs = Array(Set([r0, min(r0 + 1, count - 1)])).sorted()
        let ls = Array(Set([l0, min(l0 + 1, count - 1)])).sorted()
        return rs.flatMap { r in ls.map { FineTuneCandidate(resolutionLevel: r, fractionLevel: $0) } }
    }

    public func describe(_ c: FineTuneCandidate) -> String {
        "\(resolution(c))px l=\(fractionText(fraction(c)))"
    }

    /// "1/4", "1/2", "3/4", "1" for the usual levels, else the decimal.
    func fractionText(_ f: Double) -> String {
        for d in [2, 3, 4, 5, 6, 8] {
            let n = f * Double(d)
            if abs(n - n.rounded()) < 1e-9 { return n.rounded() == Double(d) ? "1" : "\(Int(n.rounded()))/\(d)" }
        }
        return String(format: "%.3g", f)
    }
}

/// A fine-tuning sub-network: a training resolution level and a learnable-fraction level.
public struct FineTuneCandidate: Hashable, Sendable, Comparable {
    public var resolutionLevel: Int
    public var fractionLevel: Int

    public init(resolutionLevel: Int, fractionLevel: Int) {
        self.resolutionLevel = resolutionLevel
        self.fractionLevel = fractionLevel
    }

    /// "r1l2": levels counted from 0 (REPL and stage codes).
    public var code: String { "r\(resolutionLevel)l\(fractionLevel)" }

    /// Smaller first: lower resolution, then fewer learnable blocks (the order ties go by).
    public static func < (a: Self, b: Self) -> Bool {
        (a.resolutionLevel, a.fractionLevel) < (b.resolutionLevel, b.fractionLevel)
    }
}
