/// A sub-network of a progressive ViT: patch grid side n and depth l.
public struct SubNetwork: Hashable, Sendable, CustomStringConvertible {
    public var grid: Int
    public var depth: Int

    public init(grid: Int, depth: Int) {
        self.grid = grid
        self.depth = depth
    }

    public var description: String { "grid \(grid) depth \(depth)" }

    /// "5x7" (grid × depth), as schedule.json and checkpoints write it.
    public var code: String { "\(grid)x\(depth)" }

    /// Parses `code`.
    public init?(code: some StringProtocol) {
        let parts = code.split(separator: "x")
        guard parts.count == 2, let g = Int(parts[0]), let d = Int(parts[1]) else { return nil }
        self.init(grid: g, depth: d)
    }
}

/// The candidate sub-networks AutoProg-One searches at each stage start (DESIGN §5):
/// Λ₁ = {smallest, middle, largest} n × {smallest, middle, largest} l of the growth space
/// Ω; after a stage that chose (n, l), Λ = {n, the next larger n} × {l and the next ≤ 3
/// larger depths of Ω}. "Middle" of an even number of values is the lower middle one.
/// Lists are grid-major, each ascending, without repeats.
extension GrowthSpace {
    /// Ω's patch grid sides, ascending, without repeats.
    public var grids: [Int] { Array(Set((0..<stages).map { grid(stage: $0) })).sorted() }
    /// Ω's depths, ascending, without repeats.
    public var depths: [Int] { Array(Set((0..<stages).map { depth(stage: $0) })).sorted() }

    /// Λ₁: the smallest, middle and largest grid × the smallest, middle and largest depth.
    public func firstSearchSpace() -> [SubNetwork] {
        func ends(_ values: [Int]) -> [Int] {
            Array(Set([values[0], values[(values.count - 1) / 2], values[values.count - 1]])).sorted()
        }
        return ends(grids).flatMap { g in ends(depths).map { SubNetwork(grid: g, depth: $0) } }
    }

    /// Λₖ after a stage that trained `current`: {current, next} grid × current and up to 3
    /// larger depths. `current` must be a point of Ω.
    public func searchSpace(after current: SubNetwork) throws -> [SubNetwork] {
        let gs = grids, ds = depths
        guard let gi = gs.firstIndex(of: current.grid), let di = ds.firstIndex(of: current.depth) else {
            throw TensorError("autoprog", "\(current) is not in the growth space (grids \(gs), depths \(ds))")
        }
        let nextGrids = Array(gs[gi..<min(gi + 2, gs.count)])
        let nextDepths = Array(ds[di..<min(di + 4, ds.count)])
        return nextGrids.flatMap { g in nextDepths.map { SubNetwork(grid: g, depth: $0) } }
    }

    /// Every grid × every depth of Ω (the supernet-only baseline samples them all).
    public var allSubNetworks: [SubNetwork] {
        let ds = depths
        return grids.flatMap { g in ds.map { SubNetwork(grid: g, depth: $0) } }
    }

    /// The full model.
    public var full: SubNetwork { SubNetwork(grid: fullGrid, depth: fullDepth) }
}
