import Foundation
import Testing
@testable import AutoProg

@Suite(.serialized) struct LearnableMaskTests {
    typealias F = FineTuningFixture

    @Test func learnableBlocksFollowEachOrder() {
        func blocks(_ l: Double, _ order: UnfreezeOrder, _ depth: Int) -> [Int] {
            LearnableMask(fraction: l, order: order).learnableBlocks(depth: depth)
        }
        // Interleaved: block i iff i mod 4 < 4l.
        #expect(blocks(0.25, .interleaved, 8) == [0, 4])
        #expect(blocks(0.5, .interleaved, 8) == [0, 1, 4, 5])
        #expect(blocks(0.75, .interleaved, 8) == [0, 1, 2, 4, 5, 6])
        #expect(blocks(0.25, .interleaved, 6) == [0, 4])
        #expect(blocks(0.75, .interleaved, 6) == [0, 1, 2, 4, 5])
        // Output-first and input-first: ⌈l·depth⌉ blocks from their end.
        #expect(blocks(0.25, .outputFirst, 6) == [4, 5])
        #expect(blocks(0.5, .outputFirst, 6) == [3, 4, 5])
        #expect(blocks(0.75, .outputFirst, 12) == Array(3..<12))
        #expect(blocks(0.5, .inputFirst, 6) == [0, 1, 2])
        #expect(blocks(0.25, .inputFirst, 3) == [0])
        #expect(blocks(0.3, .inputFirst, 10) == [0, 1, 2])   // 0.3·10 is a hair above 3 in binary
        for order in UnfreezeOrder.allCases {
            #expect(blocks(1, order, 6) == Array(0..<6))
            // Any positive fraction learns a block (interleaved: one in every group of four).
            #expect(blocks(0.01, order, 6).count == (order == .interleaved ? 2 : 1))
            #expect(blocks(0, order, 6).isEmpty && blocks(1.5, order, 6).isEmpty && blocks(.nan, order, 6).isEmpty)
        }
    }

    @Test func applySetsRequiresGradByOrder() throws {
        let model = try F.model()
        try model.enableStageIdentifiers(stages: 4)
        func learnablePrefixes() -> Set<String> {
            Set(model.learnableParameterNames.map { name in
                let parts = name.split(separator: ".")
                return parts[0] == "blocks" ? "blocks.\(parts[1])" : String(parts[0])
            })
        }
        let embedders: Set<String> = ["x_embedder", "t_embedder", "y_embedder"]
        try LearnableMask(fraction: 0.25, order: .interleaved).apply(to: model)
        #expect(learnablePrefixes() == embedders.union(["blocks.0", "final_layer", "sid_embedder"]))
        #expect(!model.conditionGradientStopsAtLowestLearnableBlock)
        try LearnableMask(fraction: 0.25, order: .outputFirst).apply(to: model)
        #expect(learnablePrefixes() == ["t_embedder", "y_embedder", "blocks.3", "final_layer", "sid_embedder"])
        #expect(model.conditionGradientStopsAtLowestLearnableBlock)
        try LearnableMask(fraction: 0.5, order: .inputFirst).apply(to: model)
        #expect(learnablePrefixes() == embedders.union(["blocks.0", "blocks.1", "final_layer", "sid_embedder"]))
        #expect(!model.conditionGradientStopsAtLowestLearnableBlock)
        // A whole block learns or none of it; pos_embed never.
        for block in model.blocks.items {
            let flags = Set(block.parameters.map(\.requiresGrad))
            #expect(flags.count == 1)
        }
        for order in UnfreezeOrder.allCases {
            try LearnableMask(fraction: 1, order: order).apply(to: model)
            #expect(model.learnableParameterNames.count == model.parameters.count - 1 && !model.posEmbed.requiresGrad)
            #expect(!model.conditionGradientStopsAtLowestLearnableBlock)
        }
    }

    @Test func invalidMasksAreErrorsThatChangeNothing() throws {
        let model = try F.model()
        try LearnableMask(fraction: 0.5, order: .outputFirst).apply(to: model)
        let before = model.learnableParameterNames
        for l in [0, -0.5, 1.25, .nan] {
            let failure = #expect(throws: TensorError.self) { try LearnableMask(fraction: l).apply(to: model) }
            #expect(failure?.message.contains("the learnable fraction must be in (0, 1], not") == true)
        }
        #expect(model.learnableParameterNames == before)

        // A model that would have nothing to learn: LoRA adapters only in blocks that stay frozen
        // cannot happen with a DiT, so use a block-structured model whose only weights are frozen.
        let frozen = FrozenTrunk()
        let failure = #expect(throws: TensorError.self) { try LearnableMask(fraction: 0.5).apply(to: frozen) }
        #expect(failure?.message.contains("fraction 0.5 interleaved leaves no parameter of the FrozenTrunk learnable") == true)
        #expect(frozen.parameters.allSatisfy { $0.requiresGrad }, "a failed apply changes nothing")
    }

    /// A trunk whose parameters fine-tuning may never train.
    final class FrozenTrunk: Module, BlockStructured {
        let layers = [Linear(2, 2), Linear(2, 2)]
        override init() {
            super.init()
            for (i, l) in layers.enumerated() { register(String(i), l) }
        }
        var trunkBlocks: [Module] { layers }
        var inputModules: [Module] { [] }
        var outputModules: [Module] { [] }
        func mayLearn(_ parameter: Parameter) -> Bool { false }
    }

    /// l = ¼ interleaved on a 4-block DiT: one training step computes exactly one weight
    /// gradient per learnable weight matrix (block 0's five, the patch projection, the
    /// timestep MLP's two, the final layer's two); the frozen blocks' weights are
    /// bit-for-bit unchanged and their gradients stay zero.
    @Test func frozenBlocksCostNoWeightGradientWork() throws {
        let model = try F.model()
        try LearnableMask(fraction: 0.25, order: .interleaved).apply(to: model)
        let optimizer = try AdamW(model: model, learningRate: 1e-3, weightDecay: 0.01)
        let before = F.snapshot(model)
        let learnableMatrices = model.namedModules().compactMap { _, m -> Parameter? in
            (m as? Linear)?.weight ?? (m as? Conv2d)?.weight
        }.filter(\.requiresGrad)
        #expect(learnableMatrices.count == 10)

        OpCounters.reset()
        optimizer.zeroGrad()
        try F.loss(model).backward()
        #expect(OpCounters.weightGradients == 10)
        try optimizer.step()

        let after = F.snapshot(model)
        for (name, p) in model.namedParameters() {
            let frozenBlock = ["blocks.1.", "blocks.2.", "blocks.3."].contains { name.hasPrefix($0) }
            #expect(p.requiresGrad == !(frozenBlock || name == "pos_embed"), "\(name)")
            if p.requiresGrad {
                #expect(after[name] != before[name], "\(name) learns")
            } else {
                #expect(after[name] == before[name], "\(name) is frozen but changed")
                #expect(p.grad.toArray().allSatisfy { $0 == 0 }, "\(name) is frozen but has a gradient")
            }
        }
    }

    /// Output-first on a DiT with a learnable SID table: the graph backward walks holds the
    /// attention of the learnable block only (none of the three frozen blocks below it), and
    /// the weight gradients are exactly the learnable block's five, the final layer's two and
    /// the timestep MLP's two; the conditioning (SID, class and timestep embedders) learns
    /// through the learnable block and the final layer, the patch embedding not at all. With
    /// the conditioning's gradient allowed through the frozen blocks, backward would walk all four.
    @Test func outputFirstBackwardStopsAtTheLowestLearnableBlock() throws {
        let model = try F.model()
        try model.enableStageIdentifiers(stages: 4)
        try LearnableMask(fraction: 0.25, order: .outputFirst).apply(to: model)
        model.eval()   // no label dropping: the same forward both times
        func nodesBackwardVisits(_ op: String) throws -> Int {
            let loss = try F.loss(model)
            return GradNode.topologicalOrder(from: loss.gradNode!).filter { $0.op == op }.count
        }
        func attentionNodesBackwardVisits() throws -> Int { try nodesBackwardVisits("selfAttention") }
        #expect(try attentionNodesBackwardVisits() == 1)
        // Linears: the learnable block's five, the final layer's two and the timestep MLP's
        // two — none of the frozen blocks' (they are not in the graph at all).
        #expect(try nodesBackwardVisits("linear") == 9)
        model.zeroGrad()
        OpCounters.reset()
        try F.loss(model).backward()
        #expect(OpCounters.weightGradients == 9)
        for table in [model.sidEmbedder!.embeddingTable.weight, model.yEmbedder.embeddingTable.weight] + model.tEmbedder.parameters {
            #expect(table.requiresGrad && table.grad.toArray().contains { $0 != 0 })
        }
        for module in [model.xEmbedder, model.blocks[0], model.blocks[2]] as [Module] {
            #expect(module.parameters.allSatisfy { !$0.requiresGrad && $0.grad.toArray().allSatisfy { $0 == 0 } })
        }

        model.conditionGradientStopsAtLowestLearnableBlock = false
        #expect(try attentionNodesBackwardVisits() == 4)
        // The forward pass itself does not depend on where the gradient stops.
        model.conditionGradientStopsAtLowestLearnableBlock = true
        let truncated = try F.loss(model).item()
        model.conditionGradientStopsAtLowestLearnableBlock = false
        #expect(try F.loss(model).item() == truncated)
    }

    @Test func maskIsCodable() throws {
        let mask = LearnableMask(fraction: 0.75, order: .outputFirst)
        let json = try JSONEncoder().encode(mask)
        #expect(String(decoding: json, as: UTF8.self).contains("\"output-first\""))
        #expect(try JSONDecoder().decode(LearnableMask.self, from: json) == mask)
        #expect(UnfreezeOrder.allCases.map(\.rawValue) == ["interleaved", "output-first", "input-first"])
    }

    @Test func stageResolutionsRoundUpToWholePatches() throws {
        #expect(try validResolutions(full: 28, patch: 4) == [8, 16, 24, 28])
        #expect(try validResolutions(full: 32, patch: 2) == [8, 16, 24, 32])
        #expect(try validResolutions(full: 8, patch: 4) == [4, 8])
        #expect(try validResolutions(full: 4, patch: 4) == [4])
        #expect(try validResolutions(full: 28, patch: 4, fractions: [0.5, 1]) == [16, 28])
        #expect(throws: TensorError.self) { try validResolutions(full: 30, patch: 4) }
        #expect(throws: TensorError.self) { try validResolutions(full: 28, patch: 4, fractions: [0]) }
    }
}
