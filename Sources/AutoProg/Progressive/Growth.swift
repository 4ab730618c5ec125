/// How a network grows deeper between progressive-training stages (AutoProg §3.1,
/// DESIGN §5): which source block each block of the deeper network starts from.
public enum GrowthOperator: String, Sendable, CaseIterable {
    /// Keep the source blocks in place and append freshly initialised blocks.
    case randInit = "randinit"
    /// Repeat the whole source stack: block i ← block i mod l_s.
    case stacking
    /// Repeat each source block in place (copies next to their source).
    case interpolation
    /// Interpolation, with the new copies' residual branches scaled by zero-initialised
    /// ReZero scalars, so the grown network computes the same function.
    case identity
    /// Interpolation applied to a momentum (EMA) copy of the network (see `growFromMomentum`).
    case moGrow = "mogrow"

    /// For each block of a `target`-deep network, the index of the `source`-deep network's
    /// block it copies, or nil for a new randomly initialised block.
    public static func depthMapping(from source: Int, to target: Int, operator op: GrowthOperator) throws -> [Int?] {
        guard source > 0, target >= source else {
            throw TensorError("grow", "cannot grow depth \(source) to \(target): need 0 < source ≤ target")
        }
        switch op {
        case .randInit: return randInitMapping(source, target)
        case .stacking: return stackingMapping(source, target)
        case .interpolation, .identity, .moGrow: return interpolationMapping(source, target)
        }
    }

    /// Parses a name such as "interpolation" or "mogrow", throwing on anything else.
    public static func named(_ name: String) throws -> GrowthOperator {
        guard let op = GrowthOperator(rawValue: name.lowercased()) else {
            let known = allCases.map(\.rawValue).joined(separator: ", ")
            throw TensorError("grow", "unknown growth operator \"\(name)\" (known: \(known))")
        }
        return op
    }

    /// q = l_ℓ div l_s, r = l_ℓ mod l_s: the first l_s − r source blocks appear q times, the
    /// last r appear q + 1 times, each run adjacent (4→6: [0, 1, 2, 2, 3, 3]).
    static func interpolationMapping(_ source: Int, _ target: Int) -> [Int?] {
        let q = target / source, r = target % source
        return (0..<source).flatMap { i -> [Int?] in Array(repeating: i, count: i < source - r ? q : q + 1) }
    }

    /// Block i ← block i mod l_s (3→8: [0, 1, 2, 0, 1, 2, 0, 1]).
    static func stackingMapping(_ source: Int, _ target: Int) -> [Int?] {
        (0..<target).map { Int?($0 % source) }
    }

    /// The source blocks keep their positions at the bottom of the stack; the new random
    /// blocks go on top, nearest the head (2→4: [0, 1, nil, nil]).
    static func randInitMapping(_ source: Int, _ target: Int) -> [Int?] {
        Array(0..<source) + Array(repeating: nil, count: target - source)
    }

    /// Positions of the blocks that are extra copies (not the first occurrence of their
    /// source, nor new random blocks): the ones Identity growth zero-scales.
    static func copyPositions(_ mapping: [Int?]) -> Set<Int> {
        var seen = Set<Int>(), copies = Set<Int>()
        for (i, s) in mapping.enumerated() {
            guard let s else { continue }
            if !seen.insert(s).inserted { copies.insert(i) }
        }
        return copies
    }
}
