import Testing
@testable import AutoProg

@Suite struct GrowthTests {
    func model(depth: Int = 2, image: Int = 12) throws -> VisionTransformer {
        try VisionTransformer(.init(imageSize: image, patchSize: 4, channels: 1, classes: 3,
                                    dimension: 8, depth: depth, heads: 2))
    }

    func maxDifference(_ a: Tensor, _ b: Tensor) -> Float {
        zip(a.toArray(), b.toArray()).map { abs($0 - $1) }.max() ?? 0
    }

    /// Block `i`'s state (names without the "blocks.i." prefix).
    func block(_ state: StateDict, _ i: Int) -> [String: [Float]] {
        let prefix = "blocks.\(i)."
        var out: [String: [Float]] = [:]
        for (name, t) in state where name.hasPrefix(prefix) { out[String(name.dropFirst(prefix.count))] = t.toArray() }
        return out
    }

    // MARK: Mappings

    @Test func interpolationMappingsFollowTheDesign() throws {
        #expect(try GrowthOperator.depthMapping(from: 2, to: 3, operator: .interpolation) == [0, 1, 1])
        #expect(try GrowthOperator.depthMapping(from: 4, to: 6, operator: .interpolation) == [0, 1, 2, 2, 3, 3])
        #expect(try GrowthOperator.depthMapping(from: 9, to: 12, operator: .interpolation)
                == [0, 1, 2, 3, 4, 5, 6, 6, 7, 7, 8, 8])
        #expect(try GrowthOperator.depthMapping(from: 3, to: 3, operator: .interpolation) == [0, 1, 2])
        #expect(try GrowthOperator.depthMapping(from: 2, to: 5, operator: .interpolation) == [0, 0, 1, 1, 1])
        for op in [GrowthOperator.identity, .moGrow] {
            #expect(try GrowthOperator.depthMapping(from: 4, to: 6, operator: op) == [0, 1, 2, 2, 3, 3])
        }
    }

    @Test func stackingAndRandInitMappings() throws {
        #expect(try GrowthOperator.depthMapping(from: 3, to: 8, operator: .stacking) == [0, 1, 2, 0, 1, 2, 0, 1])
        #expect(try GrowthOperator.depthMapping(from: 2, to: 4, operator: .randInit) == [0, 1, nil, nil])
    }

    @Test func badGrowthsAreErrors() throws {
        #expect(throws: TensorError.self) { try GrowthOperator.depthMapping(from: 4, to: 3, operator: .interpolation) }
        #expect(throws: TensorError.self) { try GrowthOperator.depthMapping(from: 0, to: 3, operator: .stacking) }
        #expect(throws: TensorError.self) { try GrowthOperator.named("bogus") }
        #expect(try GrowthOperator.named("MoGrow") == .moGrow && GrowthOperator.named("randinit") == .randInit)
        let m = try model()
        #expect(throws: TensorError.self) { try grow(m, toDepth: 1, operator: .stacking) }
        #expect(throws: TensorError.self) { try grow(m, toDepth: 3, operator: .moGrow) }
    }

    // MARK: Grown models

    @Test(arguments: [GrowthOperator.interpolation, .stacking, .randInit])
    func grownBlocksCopyTheirSources(op: GrowthOperator) throws {
        Random.manualSeed(3)
        let source = try model(depth: 2)
        let grown = try grow(source, toDepth: 5, operator: op)
        #expect(grown.blocks.count == 5 && grown.configuration.depth == 5 && source.blocks.count == 2)
        let mapping = try GrowthOperator.depthMapping(from: 2, to: 5, operator: op)
        let (s, g) = (source.stateDict(), grown.stateDict())
        for (i, from) in mapping.enumerated() {
            if let from {
                #expect(block(g, i) == block(s, from), "block \(i) should copy source block \(from)")
            } else {
                #expect(block(g, i) != block(s, 0) && block(g, i) != block(s, 1), "block \(i) should be new")
            }
        }
        for (name, t) in s where !name.hasPrefix("blocks.") { #expect(g[name]!.toArray() == t.toArray(), "\(name)") }
        // A deep copy: training the grown model leaves the source alone.
        try grown.blocks[0].attn.qkv.weight.assign(Tensor.zeros(grown.blocks[0].attn.qkv.weight.shape))
        #expect(source.blocks[0].attn.qkv.weight.value.toArray().contains { $0 != 0 })
    }

    @Test func identityGrowthKeepsTheFunction() throws {
        Random.manualSeed(4)
        let source = try model(depth: 2)
        source.eval()
        let x = Tensor.randn([2, 1, 12, 12])
        let before = try Autograd.withoutGradients { try source(x) }
        let grown = try grow(source, toDepth: 5, operator: .identity)             // [0, 0, 1, 1, 1]
        #expect(grown.blocks.items.map { $0.reZero != nil } == [false, true, false, true, true])
        let after = try Autograd.withoutGradients { try grown(x) }
        #expect(maxDifference(before, after) <= 1e-5)
        // The new blocks are not dead: their ReZero scalars get a gradient.
        grown.train()
        let loss = try crossEntropy(grown(x), targets: [0, 2])
        try loss.backward()
        #expect(grown.blocks[1].reZero!.gamma1.grad.toArray()[0] != 0)
        #expect(grown.stateDict().keys.contains("blocks.1.gamma_1") && !grown.stateDict().keys.contains("blocks.0.gamma_1"))
        // Growing again carries the scalars along with their blocks.
        let again = try grow(grown, toDepth: 6, operator: .interpolation)
        #expect(again.blocks.items.map { $0.reZero != nil } == [false, true, false, true, true, true])   // [0, 1, 2, 3, 4, 4]
        let third = try Autograd.withoutGradients { () -> Tensor in again.eval(); return try again(x) }
        #expect(third.shape == [2, 3])
    }

    @Test func moGrowCopiesTheMomentumWeights() throws {
        Random.manualSeed(5)
        let online = try model(depth: 2)
        let ema = try EMA(model: online, decays: [0.5, 0.9])
        for p in online.parameters { try p.assign(Tensor.randn(p.shape)) }
        try ema.update()
        let grown = try growFromMomentum(model: online, ema: ema, decayIndex: 1, toDepth: 3)   // [0, 1, 1]
        let (m, o, g) = (try ema.weights(decayIndex: 1), online.stateDict(), grown.stateDict())
        for (i, from) in [0, 1, 1].enumerated() {
            #expect(block(g, i) == block(m, from))
            #expect(block(g, i) != block(o, from))
        }
        #expect(g["pos_embed"]!.toArray() == m["pos_embed"]!.toArray())

        // Each momentum copy is grown from itself; the history (update count) carries on.
        let grownEMA = try growEMA(ema, source: online, grown: grown)
        #expect(grownEMA.updateCount == 1 && grownEMA.decays == [0.5, 0.9])
        for k in 0..<2 {
            let old = try ema.weights(decayIndex: k), new = try grownEMA.weights(decayIndex: k)
            for (i, from) in [0, 1, 1].enumerated() { #expect(block(new, i) == block(old, from)) }
        }
        try grownEMA.update()
    }

    // MARK: Elastic ViT

    @Test func elasticDepth() throws {
        Random.manualSeed(6)
        let m = try model(depth: 3)
        let x = Tensor.randn([2, 1, 12, 12])
        let full = try Autograd.withoutGradients { try m(x) }
        m.activeBlocks = [0, 1, 2]
        #expect(try Autograd.withoutGradients { try m(x) }.toArray() == full.toArray())
        // Running blocks {0, 2} equals a 2-block model holding those blocks.
        m.activeBlocks = [0, 2]
        let sub = try Autograd.withoutGradients { try m(x) }
        let small = try model(depth: 2)
        var state = m.stateDict()
        for (name, t) in m.stateDict() where name.hasPrefix("blocks.2.") {
            state["blocks.1." + name.dropFirst("blocks.2.".count)] = t
            state[name] = nil
        }
        try small.load(state)
        #expect(maxDifference(sub, try Autograd.withoutGradients { try small(x) }) == 0)
        m.activeBlocks = [3]
        #expect(throws: TensorError.self) { try m(x) }
    }

    @Test func positionEmbeddingAtTheTrainedGridIsTheParameter() throws {
        Random.manualSeed(7)
        let m = try model()
        #expect(maxDifference(try m.positionEmbedding(grid: 3), m.posEmbed.value) <= 1e-6)
        let x = Tensor.randn([2, 1, 12, 12])
        let plain = try Autograd.withoutGradients { try m(x) }
        m.activeGrid = 3
        #expect(maxDifference(plain, try Autograd.withoutGradients { try m(x) }) <= 1e-6)
        #expect(throws: TensorError.self) { try m.positionEmbedding(grid: 0) }
    }

    @Test func fewerPatchesTrainTheFullPositionEmbedding() throws {
        Random.manualSeed(8)
        let m = try model()                                      // 3×3 grid
        let x = Tensor.randn([2, 1, 12, 12])
        let pe = try m.positionEmbedding(grid: 2)
        #expect(pe.shape == [1, 5, 8])
        #expect(try pe.sliced(axis: 1, 0..<1).toArray() == m.posEmbed.value.sliced(axis: 1, 0..<1).toArray())
        #expect(try m.features(x, patchGrid: 2).shape == [2, 5, 8])
        let loss = try crossEntropy(m.forward(x, patchGrid: 2), targets: [1, 2])
        try loss.backward()
        let g = m.posEmbed.grad
        #expect(g.shape == [1, 10, 8] && !g.hasNonFinite)
        #expect(try g.sliced(axis: 1, 1..<10).toArray().contains { $0 != 0 })
        #expect(m.patchEmbed.proj.weight.grad.toArray().contains { $0 != 0 })
    }

    @Test func evaluatesAtALargerGrid() throws {
        Random.manualSeed(9)
        let m = try model()
        m.eval()
        m.activeGrid = 5
        let logits = try Autograd.withoutGradients { try m(Tensor.randn([2, 1, 12, 12])) }  // resized to 20×20
        #expect(logits.shape == [2, 3] && !logits.hasNonFinite)
        #expect(try m.features(Tensor.randn([1, 1, 20, 20])).shape == [1, 26, 8])
    }
}
