import Foundation
import Testing
@testable import AutoProg

@Suite struct VisionTransformerTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    func preset(_ name: String, image: Int = 28, patch: Int = 4, channels: Int = 1, classes: Int = 10) throws -> VisionTransformer {
        let p = VisionTransformer.Configuration.presets[name]!
        return try VisionTransformer(.init(imageSize: image, patchSize: patch, channels: channels, classes: classes,
                                           dimension: p.dimension, depth: p.depth, heads: p.heads))
    }

    /// Parameter counts of timm's VisionTransformer for the same configurations
    /// (the anchors' models: 28×28×1, patch 4, 10 classes).
    @Test(arguments: [("vit-nano", 678_730), ("vit-micro", 1_596_426), ("vit-tiny", 5_353_738)])
    func parameterCountsMatchTimm(name: String, count: Int) throws {
        #expect(try preset(name).parameterCount == count)
    }

    @Test func namesFollowTimm() throws {
        let names = try preset("vit-nano").namedParameters().map(\.0)
        // timm's state_dict order: a module's own parameters, then its children's.
        #expect(Array(names.prefix(6)) == ["cls_token", "pos_embed", "patch_embed.proj.weight", "patch_embed.proj.bias",
                                           "blocks.0.norm1.weight", "blocks.0.norm1.bias"])
        #expect(names.contains("blocks.5.mlp.fc2.bias") && names.last == "head.bias")
    }

    /// The timm golden fixture (make_timm_vit.py): same weights, same input → same logits.
    @Test func reproducesTimmLogits() throws {
        let (tensors, _) = try SafeTensors.read(Self.fixtures.appendingPathComponent("timm_vit_tiny.safetensors"))
        let model = try VisionTransformer(.init(imageSize: 16, patchSize: 4, channels: 3, classes: 5,
                                                dimension: 24, depth: 2, heads: 2))
        var weights = tensors
        let input = weights.removeValue(forKey: "input")!, expected = weights.removeValue(forKey: "logits")!
        try model.load(weights)
        model.eval()
        let logits = try Autograd.withoutGradients { try model(input) }
        #expect(logits.shape == expected.shape)
        let worst = zip(logits.toArray(), expected.toArray()).map { abs($0 - $1) }.max()!
        #expect(worst <= 1e-4, "max abs error \(worst)")
    }

    @Test func trainingStepReachesEveryParameter() throws {
        Random.manualSeed(1)
        let model = try VisionTransformer(.init(imageSize: 8, patchSize: 4, channels: 1, classes: 3,
                                                dimension: 16, depth: 2, heads: 2))
        let loss = try crossEntropy(model(Tensor.randn([4, 1, 8, 8])), targets: [0, 1, 2, 1])
        #expect(!loss.hasNonFinite)
        try loss.backward()
        for (name, p) in model.namedParameters() {
            #expect(p.grad.toArray().contains { $0 != 0 }, "\(name) got no gradient")
        }
    }

    /// Images larger than configured run at their own patch grid with the position
    /// embedding resampled to it (timm's dynamic_img_size), as an explicit grid would.
    @Test func largerImagesRunAtTheirOwnGrid() throws {
        Random.manualSeed(4)
        let model = try VisionTransformer(.init(imageSize: 8, patchSize: 2, channels: 1, classes: 3,
                                                dimension: 8, depth: 1, heads: 2))
        let x = Tensor.randn([2, 1, 12, 12])
        #expect(try model(x).toArray() == model.forward(x, patchGrid: 6).toArray())
        #expect(try model(x).toArray() != model.forward(x, patchGrid: 4).toArray())
        #expect(throws: TensorError.self) { try model(Tensor.randn([1, 1, 9, 9])) }
    }

    @Test func badConfigurationsAreErrors() {
        #expect(throws: TensorError.self) {
            try VisionTransformer(.init(imageSize: 30, patchSize: 4, channels: 1, classes: 10, dimension: 96, depth: 1, heads: 3))
        }
        #expect(throws: TensorError.self) {
            try VisionTransformer(.init(imageSize: 28, patchSize: 4, channels: 1, classes: 10, dimension: 96, depth: 1, heads: 5))
        }
    }

    @Test func loadingAMismatchedCheckpointListsKeys() throws {
        let model = try preset("vit-nano")
        #expect { try model.load(try preset("vit-micro").stateDict()) } throws: { error in
            "\(error)".contains("blocks.0.attn.qkv.weight: checkpoint shape [384, 128], model shape [288, 96]")
                && "\(error)".contains("unexpected keys: blocks.6")
        }
    }
}
