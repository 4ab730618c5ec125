import Foundation

/// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3"):
/// a counter-based generator. Block i of the stream is a pure function of (key, i), so a
/// stream's whole state is two integers, it can be saved and restored exactly, and a
/// range of it can be produced by any thread.
public struct Philox: Sendable, Equatable {
    public var key: UInt64
    /// Index of the next 128-bit block.
    public var counter: UInt64

    public init(key: UInt64, counter: UInt64 = 0) {
        self.key = key
        self.counter = counter
    }

    /// The four 32-bit words of block `index`.
    @inline(__always)
    public static func block(key: UInt64, index: UInt64) -> (UInt32, UInt32, UInt32, UInt32) {
        var c0 = UInt32(truncatingIfNeeded: index), c1 = UInt32(truncatingIfNeeded: index >> 32)
        var c2: UInt32 = 0, c3: UInt32 = 0
        var k0 = UInt32(truncatingIfNeeded: key), k1 = UInt32(truncatingIfNeeded: key >> 32)
        for _ in 0..<10 {
            let p0 = UInt64(0xD251_1F53) &* UInt64(c0)
            let p1 = UInt64(0xCD9E_8D57) &* UInt64(c2)
            let hi0 = UInt32(truncatingIfNeeded: p0 >> 32), lo0 = UInt32(truncatingIfNeeded: p0)
            let hi1 = UInt32(truncatingIfNeeded: p1 >> 32), lo1 = UInt32(truncatingIfNeeded: p1)
            (c0, c1, c2, c3) = (hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0)
            k0 = k0 &+ 0x9E37_79B9
            k1 = k1 &+ 0xBB67_AE85
        }
        return (c0, c1, c2, c3)
    }

    public mutating func nextBlock() -> (UInt32, UInt32, UInt32, UInt32) {
        defer { counter &+= 1 }
        return Philox.block(key: key, index: counter)
    }
}

/// A stream of random numbers for one purpose (initialisation, data order, ...).
///
/// Each draw consumes whole Philox blocks, so the state after a draw depends only on
/// how many values were drawn, never on threading or timing.
public struct RandomStream: Sendable, Equatable {
    public var philox: Philox

    public init(seed: UInt64, purpose: String = "") {
        // Mix the purpose into the key so streams of one seed are independent.
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in purpose.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        philox = Philox(key: seed ^ (h &* 0x9E37_79B9_7F4A_7C15))
    }

    @inline(__always) static func unitFloat(_ u: UInt32) -> Float {
        // 24 random bits, centred in their bucket: uniform on (0, 1), never 0 or 1.
        (Float(u >> 8) + 0.5) * (1.0 / 16_777_216.0)
    }

    /// Fills `n` floats with U(low, high).
    public mutating func fillUniform(_ p: UnsafeMutablePointer<Float>, count n: Int, low: Float = 0, high: Float = 1) {
        var i = 0
        while i < n {
            let (a, b, c, d) = philox.nextBlock()
            for u in [a, b, c, d] where i < n {
                p[i] = low + (high - low) * RandomStream.unitFloat(u)
                i += 1
            }
        }
    }

    /// Fills `n` floats with N(mean, std²) by the Box–Muller transform.
    public mutating func fillNormal(_ p: UnsafeMutablePointer<Float>, count n: Int, mean: Float = 0, std: Float = 1) {
        var i = 0
        while i < n {
            let (a, b, c, d) = philox.nextBlock()
            for (u1, u2) in [(a, b), (c, d)] {
                let r = (-2 * Foundation.log(Double(RandomStream.unitFloat(u1)))).squareRoot()
                let theta = 2 * Double.pi * Double(RandomStream.unitFloat(u2))
                if i < n { p[i] = mean + std * Float(r * cos(theta)); i += 1 }
                if i < n { p[i] = mean + std * Float(r * sin(theta)); i += 1 }
            }
        }
    }

    /// Fills `n` floats with N(mean, std²) truncated to [low, high] (absolute bounds, as
    /// `torch.nn.init.trunc_normal_`), by redrawing values that fall outside.
    public mutating func fillTruncatedNormal(_ p: UnsafeMutablePointer<Float>, count n: Int, mean: Float = 0,
                                             std: Float = 1, low: Float = -2, high: Float = 2) {
        fillNormal(p, count: n, mean: mean, std: std)
        var spare: Float = 0
        for i in 0..<n where p[i] < low || p[i] > high {
            repeat { fillNormal(&spare, count: 1, mean: mean, std: std) } while spare < low || spare > high
            p[i] = spare
        }
    }

    /// A uniform integer in 0..<bound (bound > 0), unbiased by rejection.
    public mutating func nextInt(below bound: Int) -> Int {
        precondition(bound > 0)
        let b = UInt64(bound)
        let limit = UInt64.max - UInt64.max % b
        while true {
            let (x, y, _, _) = philox.nextBlock()
            let v = UInt64(x) << 32 | UInt64(y)
            if v < limit { return Int(v % b) }
        }
    }

    public mutating func nextFloat() -> Float {
        RandomStream.unitFloat(philox.nextBlock().0)
    }

    /// A uniformly random permutation of 0..<n (Fisher–Yates).
    public mutating func permutation(_ n: Int) -> [Int] {
        var p = Array(0..<n)
        if n < 2 { return p }
        for i in stride(from: n - 1, to: 0, by: -1) { p.swapAt(i, nextInt(below: i + 1)) }
        return p
    }
}

/// The engine's global random streams, one per purpose, all derived from one seed.
///
/// `Random.manualSeed(s)` resets every stream; `Random.state` / `Random.restore` save and
/// restore them exactly, so a resumed run draws the same numbers as an uninterrupted one.
public enum Random {
    public enum Purpose: String, CaseIterable, Sendable {
        case initialization, dataOrder = "data_order", augmentation, noise, dropout
    }

    nonisolated(unsafe) private static var streams: [Purpose: RandomStream] = makeStreams(seed: 0)
    nonisolated(unsafe) public private(set) static var seed: UInt64 = 0

    private static func makeStreams(seed: UInt64) -> [Purpose: RandomStream] {
        Dictionary(uniqueKeysWithValues: Purpose.allCases.map { ($0, RandomStream(seed: seed, purpose: $0.rawValue)) })
    }

    public static func manualSeed(_ seed: UInt64) {
        self.seed = seed
        streams = makeStreams(seed: seed)
    }

    /// Runs `body` with exclusive use of one purpose's stream.
    public static func with<T>(_ purpose: Purpose, _ body: (inout RandomStream) throws -> T) rethrows -> T {
        try body(&streams[purpose]!)
    }

    /// Every stream's counter position, by purpose name (for checkpoints).
    public static var state: [String: UInt64] {
        var s = ["seed": seed]
        for (k, v) in streams { s[k.rawValue] = v.philox.counter }
        return s
    }

    public static func restore(_ state: [String: UInt64]) {
        manualSeed(state["seed"] ?? seed)
        for p in Purpose.allCases { if let c = state[p.rawValue] { streams[p]!.philox.counter = c } }
    }
}

extension Tensor {
    /// Samples from N(mean, std²) using the initialisation stream unless one is given.
    public static func randn(_ shape: [Int], mean: Float = 0, std: Float = 1,
                             purpose: Random.Purpose = .initialization) -> Tensor {
        let t = Tensor(uninitializedShape: shape)
        Random.with(purpose) { $0.fillNormal(t.pointer, count: t.count, mean: mean, std: std) }
        return t
    }

    /// Samples from U(low, high).
    public static func rand(_ shape: [Int], low: Float = 0, high: Float = 1,
                            purpose: Random.Purpose = .initialization) -> Tensor {
        let t = Tensor(uninitializedShape: shape)
        Random.with(purpose) { $0.fillUniform(t.pointer, count: t.count, low: low, high: high) }
        return t
    }

    /// Samples from a normal truncated to [low, high] (timm's `trunc_normal_`).
    public static func truncatedNormal(_ shape: [Int], mean: Float = 0, std: Float = 1, low: Float = -2,
                                       high: Float = 2, purpose: Random.Purpose = .initialization) -> Tensor {
        let t = Tensor(uninitializedShape: shape)
        Random.with(purpose) {
            $0.fillTruncatedNormal(t.pointer, count: t.count, mean: mean, std: std, low: low, high: high)
        }
        return t
    }
}
