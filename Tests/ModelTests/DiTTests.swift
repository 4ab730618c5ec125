import Foundation
import Testing
@testable import AutoProg

@Suite(.serialized) struct DiTTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    /// The fixture's configuration (make_dit.py).
    static let tiny = DiT.Configuration(imageSize: 8, patchSize: 2, channels: 2, classes: 3, dimension: 24, depth: 2,
                                        heads: 2, classDropout: 0.1, learnSigma: true)

    func preset(_ name: String) throws -> DiT {
        let p = DiT.Configuration.presets[name]!
        return try DiT(.init(imageSize: 28, patchSize: p.patchSize, channels: 1, classes: 10, dimension: p.dimension,
                             depth: p.depth, heads: p.heads))
    }

    /// Adds N(0, 0.1²) to every trainable parameter, so adaLN-Zero's zeros stop hiding them.
    func perturb(_ model: DiT) throws {
        for p in model.parameters where p.requiresGrad {
            try p.assign(p.value + Tensor.randn(p.shape, std: 0.1))
        }
    }

    func maxAbsDifference(_ a: Tensor, _ b: Tensor) -> Float {
        zip(a.toArray(), b.toArray()).map { abs($0 - $1) }.max() ?? 0
    }

    // MARK: Parity with facebookresearch/DiT

    /// The PyTorch golden fixture (make_dit.py): same weights and inputs → same outputs,
    /// at the configured 8×8, and at 12×12 and 4×4 (pos_embed bicubically resized to their grids).
    @Test func reproducesPyTorchDiT() throws {
        let (tensors, _) = try SafeTensors.read(Self.fixtures.appendingPathComponent("dit_tiny.safetensors"))
        var weights = tensors
        let inputs = ["x", "t", "y", "out", "x12", "out12", "x4", "out4"].map { weights.removeValue(forKey: $0)! }
        let (x, t, y, expected, x12, expected12) = (inputs[0], inputs[1], inputs[2], inputs[3], inputs[4], inputs[5])
        let (x4, expected4) = (inputs[6], inputs[7])
        let model = try DiT(Self.tiny)
        // DiT's pos_embed, computed by PyTorch/NumPy, is our closed form too.
        #expect(maxAbsDifference(model.posEmbed.value, weights["pos_embed"]!) <= 1e-6)
        try model.load(weights, strict: true)
        model.eval()
        let labels = y.toArray().map { Int($0) }
        #expect(labels == [0, 2, 3] && model.nullClass == 3)
        let out = try Autograd.withoutGradients { try model.forward(x, timesteps: t, labels: labels) }
        #expect(out.shape == expected.shape && out.shape == [3, 4, 8, 8])
        #expect(maxAbsDifference(out, expected) <= 1e-4, "max abs error \(maxAbsDifference(out, expected))")
        let out12 = try Autograd.withoutGradients { try model.forward(x12, timesteps: t, labels: labels) }
        #expect(out12.shape == [3, 4, 12, 12])
        #expect(maxAbsDifference(out12, expected12) <= 1e-4, "max abs error \(maxAbsDifference(out12, expected12))")
        let out4 = try Autograd.withoutGradients { try model.forward(x4, timesteps: t, labels: labels) }
        #expect(out4.shape == [3, 4, 4, 4])
        #expect(maxAbsDifference(out4, expected4) <= 1e-4, "max abs error \(maxAbsDifference(out4, expected4))")
    }

    @Test func stateDictKeysAreDiTs() throws {
        let (tensors, _) = try SafeTensors.read(Self.fixtures.appendingPathComponent("dit_tiny.safetensors"))
        let fixtureKeys = tensors.keys.filter { !["x", "t", "y", "out", "x12", "out12", "x4", "out4"].contains($0) }
        // Same names in PyTorch's state_dict order (safetensors stores them sorted, so compare sets
        // for the fixture and the documented order for the head of ours).
        let ours = Array(try DiT(Self.tiny).stateDict().keys)
        #expect(Set(ours) == Set(fixtureKeys))
        #expect(Array(ours.prefix(4)) == ["pos_embed", "x_embedder.proj.weight", "x_embedder.proj.bias",
                                          "t_embedder.mlp.0.weight"])
        #expect(ours.last == "final_layer.adaLN_modulation.1.bias")
    }

    /// `sum(p.numel() for p in model.parameters())` of PyTorch's DiT (pos_embed included) at
    /// 28×28×1, 10 classes, learn_sigma, class dropout 0.1, as printed by make_dit.py; the
    /// second number leaves out the fixed pos_embed (requires_grad=False).
    @Test(arguments: [("dit-s4", 4_180_064, 4_170_656), ("dit-s2", 4_201_352, 4_163_720),
                      ("dit-b4", 32_503_712, 32_484_896), ("dit-b2", 32_546_312, 32_471_048)])
    func parameterCountsMatchPyTorch(name: String, total: Int, trainable: Int) throws {
        let model = try preset(name)
        #expect(model.parameterCount == total)
        #expect(model.trainableParameterCount == trainable)
    }

    // MARK: Initialisation and training

    @Test func adaLNZeroOutputIsExactlyZeroAtInit() throws {
        Random.manualSeed(3)
        let model = try DiT(Self.tiny)
        let x = Tensor.randn([2, 2, 8, 8]), t = Tensor([5, 700])
        for training in [true, false] {
            model.train(training)
            let out = try model.forward(x, timesteps: t, labels: [1, 3])
            #expect(out.shape == [2, 4, 8, 8] && out.toArray().allSatisfy { $0 == 0 })
        }
        // DiT's init: adaLN Linears zero, the others xavier/normal (non-zero).
        #expect(model.blocks[0].modulation.weight.value.toArray().allSatisfy { $0 == 0 })
        let qkv = model.blocks[0].attn.qkv.weight.value.toArray()
        let bound = (6 / Float(24 + 72)).squareRoot()
        #expect(qkv.allSatisfy { abs($0) <= bound } && qkv.contains { abs($0) > bound / 2 })
        #expect(model.blocks[0].attn.qkv.bias!.value.toArray().allSatisfy { $0 == 0 })
        let table = model.yEmbedder.embeddingTable.weight.value.toArray()
        let std = (table.map { $0 * $0 }.reduce(0, +) / Float(table.count)).squareRoot()
        #expect(std > 0.015 && std < 0.025, "label table std \(std), expected 0.02")
    }

    @Test func initialisationIsSeeded() throws {
        Random.manualSeed(11)
        let a = try DiT(Self.tiny).stateDict()
        Random.manualSeed(11)
        let b = try DiT(Self.tiny).stateDict()
        #expect(a.keys == b.keys && a.keys.allSatisfy { a[$0]!.toArray() == b[$0]!.toArray() })
    }

    @Test func backwardReachesEveryTrainableParameter() throws {
        Random.manualSeed(4)
        let model = try DiT(Self.tiny)
        try perturb(model)
        let x = Tensor.randn([3, 2, 8, 8]), target = Tensor.randn([3, 4, 8, 8])
        let loss = try mseLoss(model.forward(x, timesteps: Tensor([1, 250, 999]), labels: [0, 1, 3]), target)
        #expect(!loss.hasNonFinite)
        try loss.backward()
        for (name, p) in model.namedParameters() where p.requiresGrad {
            let g = p.grad.toArray()
            #expect(!g.contains { !$0.isFinite }, "\(name) has a non-finite gradient")
            #expect(g.contains { $0 != 0 }, "\(name) got no gradient")
        }
        #expect(!model.posEmbed.requiresGrad && model.posEmbed.grad.toArray().allSatisfy { $0 == 0 })
        model.setRequiresGrad(true)
        #expect(!model.posEmbed.requiresGrad, "pos_embed stays fixed")
    }

    /// The presets train: forward and backward at 28×28×1, batch 2, give each trainable
    /// parameter a finite, non-zero gradient (dit-b2 differs from dit-b4 only in the patch,
    /// which dit-s2 covers, and is left out to keep the suite quick).
    @Test(arguments: ["dit-s4", "dit-s2", "dit-b4"])
    func presetTrains(name: String) throws {
        Random.manualSeed(12)
        let model = try preset(name)
        try perturb(model)
        let out = try model.forward(Tensor.randn([2, 1, 28, 28]), timesteps: Tensor([3, 900]), labels: [4, 10])
        #expect(out.shape == [2, 2, 28, 28])
        try out.squared().mean().backward()
        for (name, p) in model.namedParameters() where p.requiresGrad {
            let g = p.grad.toArray()
            #expect(g.allSatisfy(\.isFinite) && g.contains { $0 != 0 }, "\(name): no finite non-zero gradient")
        }
    }

    // MARK: Label dropout

    @Test func labelDropoutRateAndDeterminism() throws {
        let embedder = LabelEmbedder(classes: 10, dimension: 4, dropout: 0.1)
        let labels = (0..<20_000).map { $0 % 10 }
        Random.manualSeed(7)
        let a = embedder.droppingLabels(labels)
        Random.manualSeed(7)
        let b = embedder.droppingLabels(labels)
        Random.manualSeed(8)
        let c = embedder.droppingLabels(labels)
        #expect(a == b && a != c)
        // Binomial(20000, 0.1): mean 2000, σ ≈ 42.
        let dropped = zip(a, labels).filter { $0 != $1 }.count
        #expect(abs(dropped - 2000) < 210, "dropped \(dropped) of 20000 at p = 0.1")
        #expect(zip(a, labels).allSatisfy { $0 == $1 || $0 == 10 })
        // Null labels pass through; without dropout nothing changes and no null row exists.
        #expect(embedder.droppingLabels(Array(repeating: 10, count: 50)) == Array(repeating: 10, count: 50))
        let plain = LabelEmbedder(classes: 10, dimension: 4, dropout: 0)
        #expect(plain.droppingLabels(labels) == labels && plain.nullClass == nil && plain.embeddingTable.count == 10)
    }

    @Test func trainingForwardDropsLabelsFromTheDropoutStream() throws {
        Random.manualSeed(5)
        var config = Self.tiny
        config.classDropout = 0.5
        let model = try DiT(config)
        try perturb(model)
        let x = Tensor.randn([16, 2, 8, 8]), t = Tensor.full([16], 100), labels = Array(repeating: 1, count: 16)
        model.eval()
        let conditional = try model.forward(x, timesteps: t, labels: labels)
        let unconditional = try model.forward(x, timesteps: t, labels: nil)
        model.train()
        Random.manualSeed(9)
        let trained = try model.forward(x, timesteps: t, labels: labels)
        // The same seed replays the same draws: these are the labels the forward used.
        Random.manualSeed(9)
        let drops = model.yEmbedder.droppingLabels(labels)
        let per = 4 * 8 * 8
        let (tr, co, un) = (trained.toArray(), conditional.toArray(), unconditional.toArray())
        for i in 0..<16 {
            let reference = drops[i] == 3 ? un : co
            let worst = (0..<per).map { abs(tr[i * per + $0] - reference[i * per + $0]) }.max()!
            #expect(worst <= 1e-5, "image \(i) (label \(drops[i])) differs by \(worst)")
        }
        #expect(drops.contains(3) && drops.contains(1))
    }

    // MARK: Other resolutions

    @Test func sinCosTableMatchesTheClosedForm() throws {
        // DiT's get_2d_sincos_pos_embed, row t = i·W + j: [sin(jω), cos(jω), sin(iω), cos(iω)], ω_m = 10000^(−m/k).
        let d = 16, k = d / 4
        let table = try sinCosPositionEmbedding(dimension: d, gridHeight: 3, gridWidth: 5).toArray()
        for (i, j, m) in [(0, 0, 0), (1, 4, 0), (2, 3, 1), (2, 1, 3), (1, 2, 2)] {
            let w = pow(10000, -Double(m) / Double(k))
            let row = (i * 5 + j) * d
            #expect(abs(table[row + m] - Float(sin(Double(j) * w))) < 1e-6)
            #expect(abs(table[row + k + m] - Float(cos(Double(j) * w))) < 1e-6)
            #expect(abs(table[row + 2 * k + m] - Float(sin(Double(i) * w))) < 1e-6)
            #expect(abs(table[row + 3 * k + m] - Float(cos(Double(i) * w))) < 1e-6)
        }
        #expect(throws: TensorError.self) { try sinCosPositionEmbedding(dimension: 6, gridHeight: 2, gridWidth: 2) }
    }

    @Test func runsAtAnotherResolutionWithPosEmbedResizedToItsGrid() throws {
        Random.manualSeed(6)
        let model = try DiT(.init(imageSize: 28, patchSize: 2, channels: 1, classes: 10, dimension: 16, depth: 1,
                                  heads: 2))
        try perturb(model)
        let out = try model.forward(Tensor.randn([2, 1, 14, 14]), timesteps: Tensor([3, 4]), labels: [0, 9])
        #expect(out.shape == [2, 2, 14, 14] && !out.hasNonFinite)
        let table = try model.positionEmbedding(rows: 7, columns: 7)
        #expect(table.shape == [1, 49, 16])
        // Halving the grid (bicubic, half-pixel centres) puts patch (i, j) of the 7×7 grid at
        // position (2i + ½, 2j + ½) of the 14×14 one, so it covers the whole image, not its
        // top-left corner (the sin-cos table of a 7×7 grid would say (i, j)). Checked on the
        // slowest frequency, m = 3 of k = 4, ω = 10000^(−3/4) = 0.001, where the cubic taps
        // reproduce the (locally linear) sine to float precision away from the border.
        let v = table.toArray(), w = 0.001
        for (i, j) in [(1, 2), (3, 5), (5, 1)] {
            let row = (i * 7 + j) * 16, x = Double(2 * j) + 0.5, y = Double(2 * i) + 0.5
            #expect(abs(v[row + 3] - Float(sin(x * w))) < 1e-5 && abs(v[row + 4 + 3] - Float(cos(x * w))) < 1e-5)
            #expect(abs(v[row + 8 + 3] - Float(sin(y * w))) < 1e-5 && abs(v[row + 12 + 3] - Float(cos(y * w))) < 1e-5)
        }
        // The configured grid uses the (loadable) parameter itself.
        #expect(try model.positionEmbedding(rows: 14, columns: 14).pointer == model.posEmbed.value.pointer)
        // Rectangular images run too.
        let wide = try model.forward(Tensor.randn([1, 1, 8, 12]), timesteps: Tensor([1]), labels: [2])
        #expect(wide.shape == [1, 2, 8, 12])
    }

    // MARK: Errors

    @Test func badInputsAreClearErrors() throws {
        let model = try DiT(Self.tiny)
        let x = Tensor.zeros([2, 2, 8, 8]), t = Tensor([1, 2])
        func message(_ body: () throws -> Tensor) -> String {
            do { _ = try body(); return "" } catch { return "\(error)" }
        }
        #expect(message { try model.forward(Tensor.zeros([2, 3, 8, 8]), timesteps: t, labels: [0, 1]) }
            .contains("images of shape [2, 3, 8, 8] must be [B, 2, H, W]"))
        #expect(message { try model.forward(Tensor.zeros([2, 2, 9, 8]), timesteps: t, labels: [0, 1]) }
            .contains("patch size 2 does not divide the image size 9×8"))
        #expect(message { try model.forward(x, timesteps: t, labels: [0, 4]) }
            .contains("label 4 at position 1 is out of range 0...3 (3 = null class)"))
        #expect(message { try model.forward(x, timesteps: t, labels: [-1, 0]) }.contains("label -1 at position 0"))
        #expect(message { try model.forward(x, timesteps: Tensor([1, 2, 3]), labels: [0, 1]) }
            .contains("timesteps of shape [3] must be [2]"))
        #expect(message { try model.forward(x, timesteps: t, labels: [0]) }.contains("1 labels for a batch of 2"))
        var noNull = Self.tiny
        noNull.classDropout = 0
        let plain = try DiT(noNull)
        #expect(plain.nullClass == nil)
        #expect(message { try plain.forward(x, timesteps: t, labels: [0, 3]) }.contains("out of range 0..<3"))
        #expect(message { try plain.forward(x, timesteps: t, labels: nil) }.contains("labels are required"))
        #expect(message { try model.forward(Tensor.zeros([2, 2, 8]), timesteps: t, labels: nil) }.contains("must be [B, 2, H, W]"))
    }

    @Test func badConfigurationsAreErrors() {
        func message(_ c: DiT.Configuration) -> String {
            do { _ = try DiT(c); return "" } catch { return "\(error)" }
        }
        var c = Self.tiny
        c.imageSize = 9
        #expect(message(c).contains("patch size 2 does not divide image size 9"))
        c = Self.tiny
        c.heads = 5
        #expect(message(c).contains("5 heads do not divide width 24"))
        c = Self.tiny
        c.dimension = 18
        c.heads = 2
        #expect(message(c).contains("must be a multiple of 4"))
        c = Self.tiny
        c.classDropout = 1
        #expect(message(c).contains("class dropout 1.0 must be in [0, 1)"))
    }

    @Test func conformsToDenoiser() throws {
        let model = try DiT(Self.tiny)
        let d: any Denoiser = model
        #expect(d.imageChannels == 2 && d.learnsSigma && d.nullClass == 3)
        let out = try d.denoise(Tensor.zeros([1, 2, 8, 8]), timesteps: Tensor([10]), labels: [2])
        #expect(out.shape == [1, 4, 8, 8])
        var eps = Self.tiny
        eps.learnSigma = false
        #expect(try DiT(eps).denoise(Tensor.zeros([1, 2, 8, 8]), timesteps: Tensor([10]), labels: nil).shape == [1, 2, 8, 8])
    }
}
