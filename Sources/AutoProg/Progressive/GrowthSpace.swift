/// The growth space Ω(s₁) of progressive ViT training (AutoProg §3.1, DESIGN §5):
/// `stages` ratios evenly spaced from s₁ to 1; at ratio r the patch grid side and the
/// depth are the full model's values × r, rounded (at least 1).
public struct GrowthSpace: Equatable, Sendable {
    public let stages: Int
    public let smallestRatio: Float
    public let fullGrid: Int
    public let fullDepth: Int

    public init(stages: Int = 4, smallestRatio: Float = 0.5, fullGrid: Int, fullDepth: Int) throws {
        guard stages >= 1 else { throw TensorError("growth space", "needs at least one stage, not \(stages)") }
        guard smallestRatio > 0, smallestRatio <= 1 else {
            throw TensorError("growth space", "the smallest ratio s₁ must be in (0, 1], not \(smallestRatio)")
        }
        guard fullGrid >= 1, fullDepth >= 1 else {
            throw TensorError("growth space", "the full model needs a grid and a depth of at least 1, not \(fullGrid) and \(fullDepth)")
        }
        self.stages = stages
        self.smallestRatio = smallestRatio
        self.fullGrid = fullGrid
        self.fullDepth = fullDepth
    }

    public func ratio(stage k: Int) -> Float { linspaceRatio(stage: k, of: stages, smallest: smallestRatio) }

    public func grid(stage k: Int) -> Int { max(1, Int((Float(fullGrid) * ratio(stage: k)).rounded())) }
    public func depth(stage k: Int) -> Int { max(1, Int((Float(fullDepth) * ratio(stage: k)).rounded())) }
}

/// Ratio k of `stages` evenly spaced from s₁ to 1 (linspace(s₁, 1, stages)[k]; 1 for a
/// single stage): the growth space's and progressive fine-tuning's resolution ladder.
func linspaceRatio<T: BinaryFloatingPoint>(stage k: Int, of stages: Int, smallest s1: T) -> T {
    stages == 1 ? 1 : s1 + (1 - s1) * T(k) / T(stages - 1)
}

/// One stage of a progressive schedule: the sub-network and its share of the steps.
public struct ProgressiveStage: Equatable, Sendable {
    public var grid: Int
    public var depth: Int
    /// Fraction of the run's steps this stage takes.
    public var fraction: Double

    public init(grid: Int, depth: Int, fraction: Double) {
        self.grid = grid
        self.depth = depth
        self.fraction = fraction
    }

    /// Prog: the growth space's stages, equal shares of the steps.
    public static func prog(_ space: GrowthSpace) -> [ProgressiveStage] {
        (0..<space.stages).map { ProgressiveStage(grid: space.grid(stage: $0), depth: space.depth(stage: $0),
                                                  fraction: 1 / Double(space.stages)) }
    }

    /// ProgStack (progressive stacking, the BERT baseline): ¼ depth, stacked twice (¼ → ½ →
    /// full), step ratio 1:2:5, full resolution throughout.
    public static func progStack(fullGrid: Int, fullDepth: Int) -> [ProgressiveStage] {
        let quarter = max(1, fullDepth / 4)
        return [ProgressiveStage(grid: fullGrid, depth: quarter, fraction: 1.0 / 8),
                ProgressiveStage(grid: fullGrid, depth: min(fullDepth, 2 * quarter), fraction: 2.0 / 8),
                ProgressiveStage(grid: fullGrid, depth: fullDepth, fraction: 5.0 / 8)]
    }
}

/// Forward FLOPs per image of a ViT sub-network (2 × multiply-adds of the GEMMs and
/// attention; norms and activations are negligible and left out).
public func visionTransformerFLOPs(_ c: VisionTransformer.Configuration, grid: Int, depth: Int) -> Double {
    let d = Double(c.dimension), h = Double(Float(c.dimension) * c.mlpRatio)
    let tokens = Double(grid * grid + 1)
    let perBlock = tokens * (4 * d * d + 2 * d * h) + 2 * tokens * tokens * d
    let embed = Double(grid * grid) * Double(c.channels * c.patchSize * c.patchSize) * d
    return 2 * (Double(depth) * perBlock + embed + d * Double(c.classes))
}
