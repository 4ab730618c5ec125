import Testing
@testable import AutoProg

@Suite struct ProgControllerTests {
    @Test func growthSpaceFollowsLinspace() throws {
        // vit on 28×28 with patch 4: grid 7, depth 6; Ω(0.5) with 4 stages.
        let space = try GrowthSpace(stages: 4, smallestRatio: 0.5, fullGrid: 7, fullDepth: 6)
        #expect((0..<4).map(space.grid) == [4, 5, 6, 7])
        #expect((0..<4).map(space.depth) == [3, 4, 5, 6])
        let tiny = try GrowthSpace(stages: 4, smallestRatio: 0.5, fullGrid: 7, fullDepth: 12)
        #expect((0..<4).map(tiny.depth) == [6, 8, 10, 12])
        #expect(throws: TensorError.self) { try GrowthSpace(stages: 4, smallestRatio: 0, fullGrid: 7, fullDepth: 6) }
    }

    @Test func progStackIsQuarterDepthStackedTwice() {
        let s = ProgressiveStage.progStack(fullGrid: 7, fullDepth: 12)
        #expect(s.map(\.depth) == [3, 6, 12])
        let fractions: [Double] = [0.125, 0.25, 0.625]
        #expect(s.map(\.fraction) == fractions)
    }

    func model(depth: Int = 4) throws -> VisionTransformer {
        Random.manualSeed(2)
        return try VisionTransformer(.init(imageSize: 8, patchSize: 2, channels: 1, classes: 3, dimension: 8,
                                           depth: depth, heads: 2))
    }

    @Test func stagesSplitTheStepsByFraction() throws {
        let c = try ProgController(model: try model(), stages: ProgressiveStage.progStack(fullGrid: 4, fullDepth: 4),
                                   operator: .interpolation)
        let indices: [Int] = (0..<16).map { c.stageIndex(step: $0, totalSteps: 16) }
        let expected: [Int] = [0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2]
        #expect(indices == expected)
    }

    /// Stage k's share of the steps is weights[k] / Σ weights, rounded; `stage(at:)` and
    /// `range(_:)` agree on every step; a share rounded to nothing is an empty stage.
    @Test func stageSharesSplitByWeightAndAgree() {
        let shares = StageShares(weights: [1, 1, 2])
        #expect((0..<3).map { shares.range($0, totalSteps: 8) } == [0..<2, 2..<4, 4..<8])
        #expect(StageShares(equal: 4).range(3, totalSteps: 10) == 8..<10)   // 2.5 and 7.5 round up
        for (weights, total) in [([1.0, 1, 2], 8), ([0.3, 0.2, 0.5], 17), ([1.0, 1, 1, 1], 10), ([1.0, 100], 3)] {
            let s = StageShares(weights: weights)
            for step in 0..<total { #expect(s.range(s.stage(at: step, totalSteps: total), totalSteps: total).contains(step)) }
            #expect((0..<weights.count).map { s.range($0, totalSteps: total).count }.reduce(0, +) == total)
        }
        #expect(StageShares(weights: [1, 100]).range(0, totalSteps: 3).isEmpty)
    }

    @Test func remapCopiesBlocksByTheMapping() throws {
        let m = try model()
        let state = m.stateDict()
        let grown = ProgController.remap(state, mapping: try GrowthOperator.depthMapping(from: 2, to: 4, operator: .interpolation))
        // 2→4 by Interpolation: [0, 0, 1, 1].
        #expect(grown["blocks.1.attn.qkv.weight"]!.toArray() == state["blocks.0.attn.qkv.weight"]!.toArray())
        #expect(grown["blocks.3.mlp.fc2.bias"]!.toArray() == state["blocks.1.mlp.fc2.bias"]!.toArray())
        #expect(grown["head.weight"]!.toArray() == state["head.weight"]!.toArray())
    }

    @Test func invalidSchedulesAreErrors() throws {
        let m = try model()
        #expect(throws: TensorError.self) {
            try ProgController(model: m, stages: [.init(grid: 4, depth: 3, fraction: 1), .init(grid: 4, depth: 2, fraction: 1)],
                               operator: .interpolation)
        }
        #expect(throws: TensorError.self) {
            try ProgController(model: m, stages: [.init(grid: 4, depth: 9, fraction: 1)], operator: .interpolation)
        }
    }

    @Test func flopsGrowWithTheSubNetwork() throws {
        let c = try model().configuration
        #expect(visionTransformerFLOPs(c, grid: 2, depth: 2) < visionTransformerFLOPs(c, grid: 4, depth: 2))
        #expect(visionTransformerFLOPs(c, grid: 4, depth: 2) < visionTransformerFLOPs(c, grid: 4, depth: 4))
    }
}
