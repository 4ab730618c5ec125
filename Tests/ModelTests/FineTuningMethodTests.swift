import Foundation
import Testing
@testable import AutoProg

@Suite(.serialized) struct FineTuningMethodTests {
    typealias F = FineTuningFixture

    func learnable(_ model: DiT) -> [String] { model.learnableParameterNames }

    @Test func eachMethodLearnsItsParametersOnly() throws {
        let depth = F.configuration.depth
        let full = try F.model()
        try full.prepareFineTuning(.full)
        #expect(learnable(full) == full.namedParameters().map(\.0).filter { $0 != "pos_embed" })

        let bitfit = try F.model()
        try bitfit.prepareFineTuning(.bitfit)
        let biases = bitfit.namedParameters().map(\.0).filter { $0.hasSuffix(".bias") }
        let classes = "y_embedder.embedding_table.weight"
        #expect(Set(learnable(bitfit)) == Set(biases + [classes]) && biases.count == 1 + 2 + 5 * depth + 2)

        let difffit = try F.model()
        try difffit.prepareFineTuning(.difffit)
        let gammas = (0..<depth).flatMap { ["blocks.\($0).gamma_1", "blocks.\($0).gamma_2"] }
        #expect(Set(learnable(difffit)) == Set(biases + gammas + [classes]))
        #expect(difffit.blocks[2].diffFitScales!.gamma1.shape == [24])

        let lora = try F.model()
        try lora.prepareFineTuning(.lora, lora: LoRAConfiguration(rank: 3, alpha: 6))
        let adapters = (0..<depth).flatMap { i in
            ["qkv", "proj"].flatMap { ["blocks.\(i).attn.\($0).lora_A.weight", "blocks.\(i).attn.\($0).lora_B.weight"] }
        }
        #expect(Set(learnable(lora)) == Set(adapters + [classes]))
        let sd = lora.stateDict()
        #expect(sd["blocks.0.attn.qkv.lora_A.weight"]!.shape == [3, 24] && sd["blocks.0.attn.qkv.lora_B.weight"]!.shape == [72, 3])
        #expect(sd["blocks.0.attn.qkv.weight"]!.shape == [72, 24], "base weights keep their names")
        #expect(lora.blocks[0].attn.proj.lowRankAdapter!.scaling == 2)

        let loraMLP = try F.model()
        try loraMLP.prepareFineTuning(.lora, lora: LoRAConfiguration(rank: 2, alpha: 2, includesMLP: true))
        #expect(learnable(loraMLP).count == depth * 8 + 1 && learnable(loraMLP).contains("blocks.3.mlp.fc2.lora_B.weight"))

        // The class embedding and the SID table learn under every method.
        for method in FineTuningMethod.allCases {
            let model = try F.model()
            try model.enableStageIdentifiers(stages: 2)
            try model.prepareFineTuning(method)
            #expect(learnable(model).contains("sid_embedder.embedding_table.weight"), "\(method)")
            #expect(learnable(model).contains(classes), "\(method)")
            #expect(!model.posEmbed.requiresGrad)
        }
    }

    /// LoRA (B = 0) and DiffFit (γ = 1) start as exactly the base model.
    @Test func adaptersLeaveTheOutputUnchangedAtInit() throws {
        for method in [FineTuningMethod.lora, .difffit] {
            let model = try F.model()
            model.eval()
            let before = try F.loss(model).item()
            let out = try model.forward(F.images, timesteps: F.timesteps, labels: F.labels)
            try model.prepareFineTuning(method, lora: LoRAConfiguration(rank: 4, alpha: 8, includesMLP: true))
            #expect(try model.forward(F.images, timesteps: F.timesteps, labels: F.labels).toArray() == out.toArray(), "\(method)")
            #expect(try F.loss(model).item() == before)
        }
    }

    /// One AdamW step moves the method's parameters and nothing else.
    @Test(arguments: FineTuningMethod.allCases)
    func oneStepChangesOnlyLearnableParameters(method: FineTuningMethod) throws {
        let model = try F.model()
        try model.prepareFineTuning(method)
        let optimizer = try AdamW(model: model, learningRate: 1e-2, weightDecay: 0)
        let before = F.snapshot(model)
        optimizer.zeroGrad()
        try F.loss(model).backward()
        try optimizer.step()
        let after = F.snapshot(model)
        var moved = 0
        for (name, p) in model.namedParameters() {
            if p.requiresGrad {
                if after[name] != before[name] { moved += 1 }
            } else {
                #expect(after[name] == before[name], "\(method): frozen \(name) changed")
            }
        }
        // Everything learnable moves, but LoRA's A, whose gradient is 0 while B = 0.
        let expected = learnable(model).filter { !$0.hasSuffix("lora_A.weight") }.count
        #expect(moved >= expected && moved > 0, "\(method): \(moved) of \(learnable(model).count) learnable parameters moved")
    }

    @Test func loraModuleGradientsMatchFiniteDifferences() throws {
        Random.manualSeed(21)
        let layer = Linear(5, 4)
        try layer.attachLowRankAdapter(rank: 2, alpha: 3)
        let adapter = layer.lowRankAdapter!
        try adapter.up.weight.assign(Tensor.randn([4, 2]))   // B ≠ 0, so A's gradient is not trivially 0
        let x = Tensor.randn([3, 5]).requiringGrad()
        let weights = Tensor.randn([3, 4])
        func loss() throws -> Double {
            let y = try Autograd.withoutGradients { try layer(x) }.toArray()
            return zip(y, weights.toArray()).reduce(0) { $0 + Double($1.0) * Double($1.1) }
        }
        layer.zeroGrad()
        try layer(x).backward(gradient: weights)
        #expect(layer.weight.grad.toArray().allSatisfy { $0 == 0 } && layer.bias!.grad.toArray().allSatisfy { $0 == 0 })
        let probes: [(String, Tensor, Tensor)] = [("x", x, x.grad!), ("A", adapter.down.weight.value, adapter.down.weight.grad),
                                                  ("B", adapter.up.weight.value, adapter.up.weight.grad)]
        let epsilon: Float = 1e-2
        for (name, value, analytic) in probes {
            for j in 0..<value.count {
                let saved = value.pointer[j]
                value.pointer[j] = saved + epsilon
                let plus = try loss()
                value.pointer[j] = saved - epsilon
                let minus = try loss()
                value.pointer[j] = saved
                let numeric = (plus - minus) / (2 * Double(epsilon)), a = Double(analytic.pointer[j])
                #expect(abs(a - numeric) <= 2e-3 + 2e-2 * max(abs(a), abs(numeric)), "d\(name)[\(j)]: analytic \(a), numeric \(numeric)")
            }
        }
    }

    @Test func mergedLoRAComputesTheSameAndLeavesAPlainDiT() throws {
        let model = try F.model()
        let baseKeys = Array(model.stateDict().keys)
        try model.prepareFineTuning(.lora, lora: LoRAConfiguration(rank: 4, alpha: 4, includesMLP: true))
        // Trained adapters: B away from zero.
        for (name, p) in model.namedParameters() where name.hasSuffix("lora_B.weight") {
            try p.assign(Tensor.randn(p.shape, std: 0.1))
        }
        model.eval()
        let unmerged = try model.forward(F.images, timesteps: F.timesteps, labels: F.labels)
        #expect(try model.mergeLowRankAdapters() == 4 * F.configuration.depth)
        let merged = try model.forward(F.images, timesteps: F.timesteps, labels: F.labels)
        #expect(F.maxAbsDifference(merged, unmerged) <= 1e-5, "max difference \(F.maxAbsDifference(merged, unmerged))")
        #expect(Array(model.stateDict().keys) == baseKeys)
        #expect(try model.mergeLowRankAdapters() == 0)
        // The merged weights load into a plain DiT and give the same output.
        let plain = try DiT(F.configuration)
        try plain.load(model.stateDict(), strict: true)
        plain.eval()
        #expect(try plain.forward(F.images, timesteps: F.timesteps, labels: F.labels).toArray() == merged.toArray())
    }

    /// A base checkpoint (no γ, no adapters) loads into a prepared model with strict: false,
    /// missing exactly the new parameters, which keep their identity values (γ = 1, B = 0);
    /// a prepared model's own state dict round-trips strictly.
    @Test func checkpointsLoadAcrossPreparation() throws {
        let base = try F.model(seed: 5).stateDict()
        for method in [FineTuningMethod.difffit, .lora] {
            let model = try F.model(seed: 6)
            try model.prepareFineTuning(method)
            let failure = #expect(throws: StateDictError.self) { try model.load(base, strict: true) }
            let missing = Set(model.stateDict().keys).subtracting(base.keys)
            #expect(failure?.problems == ["missing keys: \(missing.sorted().joined(separator: ", "))"])
            try model.load(base, strict: false)
            if method == .difffit {
                #expect(model.blocks.items.allSatisfy { $0.diffFitScales!.gamma1.value.toArray().allSatisfy { $0 == 1 } })
            }
            try model.load(model.stateDict(), strict: true)
            let reference = try DiT(F.configuration)
            try reference.load(base, strict: true)
            reference.eval()
            model.eval()
            #expect(try model.forward(F.images, timesteps: F.timesteps, labels: F.labels).toArray()
                    == reference.forward(F.images, timesteps: F.timesteps, labels: F.labels).toArray(), "\(method)")
        }
    }

    @Test func badPreparationsAreErrors() throws {
        let model = try F.model()
        let rank = #expect(throws: TensorError.self) {
            try model.prepareFineTuning(.lora, lora: LoRAConfiguration(rank: 25))
        }
        #expect(rank?.message.contains("LoRA rank 25 must be in 1...24") == true)
        #expect(throws: TensorError.self) { try model.prepareFineTuning(.lora, lora: LoRAConfiguration(rank: 0)) }
        #expect(throws: TensorError.self) { try model.prepareFineTuning(.lora, lora: LoRAConfiguration(alpha: 0)) }
        #expect(model.fineTuningMethod == .full && model.blocks[0].attn.qkv.lowRankAdapter == nil, "failed calls change nothing")
        try model.prepareFineTuning(.lora)
        try model.prepareFineTuning(.lora)   // the same again: fine
        let change = #expect(throws: TensorError.self) { try model.prepareFineTuning(.lora, lora: LoRAConfiguration(rank: 2)) }
        #expect(change?.message.contains("are attached already") == true)
        let other = #expect(throws: TensorError.self) { try model.prepareFineTuning(.difffit) }
        #expect(other?.message.contains("prepared for lora already") == true)
        #expect(throws: TensorError.self) { try model.blocks[0].attn.qkv.attachLowRankAdapter(rank: 2, alpha: 1) }
        // Full and BitFit add nothing and switch freely.
        let plain = try F.model()
        try plain.prepareFineTuning(.bitfit)
        try plain.prepareFineTuning(.full)
        #expect(learnable(plain).count == plain.parameters.count - 1)
    }

    /// A mask composes with a method: only the method's parameters in the mask's blocks (and
    /// the mask's conditioning, here the class embedding) learn.
    @Test func masksComposeWithMethods() throws {
        let model = try F.model()
        try model.prepareFineTuning(.lora)
        try LearnableMask(fraction: 0.5, order: .outputFirst).apply(to: model)
        let classes = "y_embedder.embedding_table.weight"
        #expect(learnable(model).allSatisfy { $0.hasPrefix("blocks.2.") || $0.hasPrefix("blocks.3.") || $0 == classes })
        #expect(learnable(model).count == 2 * 4 + 1)
        try LearnableMask.full.apply(to: model)
        #expect(learnable(model).count == 4 * 4 + 1)
    }
}
