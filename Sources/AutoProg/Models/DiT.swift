import Foundation

/// Diffusion Transformer in facebookresearch/DiT's layout and parameter names
/// (`pos_embed`, `x_embedder.proj`, `t_embedder.mlp.{0,2}`, `y_embedder.embedding_table`,
/// `blocks.N.{attn.qkv, attn.proj, mlp.fc1, mlp.fc2, adaLN_modulation.1}`,
/// `final_layer.{linear, adaLN_modulation.1}`), so DiT state dicts load unchanged.
///
/// Noisy images [B, C, H, W] become patch tokens plus the fixed 2-D sin-cos position
/// embedding; the condition c = embed(t) + embed(y) modulates every block (adaLN-Zero);
/// the final layer predicts p·p·C_out values per token, reassembled into [B, C_out, H, W]
/// with C_out = 2C when the variance is learned (ε first, then the variance values).
///
/// `pos_embed` is, as in DiT, a parameter that is never trained (`requiresGrad` false,
/// kept so even by `setRequiresGrad(true)`): it is in the state dict and loads, and it is
/// used at the configured resolution. Images of another size (AutoProg-Zero trains at a
/// lower resolution) run at their own patch grid with `pos_embed` bicubically resized to
/// it, so a small image's patches keep the positions they cover in the full image.
///
/// Fine-tuning additions exist only when switched on, so a DiT checkpoint loads before
/// them: stage identifiers (`enableStageIdentifiers`, `sid_embedder.embedding_table.weight`),
/// DiffFit scales and LoRA adapters (`prepareFineTuning`, FineTuning/).
public final class DiT: Module {
    public struct Configuration: Equatable, Sendable {
        public var imageSize: Int
        public var patchSize: Int
        public var channels: Int
        public var classes: Int
        public var dimension: Int
        public var depth: Int
        public var heads: Int
        public var mlpRatio: Float
        /// Probability of replacing a label by the null class while training (classifier-
        /// free guidance); > 0 gives the label table its null row.
        public var classDropout: Float
        /// Predict the variance too: 2C output channels.
        public var learnSigma: Bool

        public init(imageSize: Int, patchSize: Int, channels: Int, classes: Int, dimension: Int, depth: Int,
                    heads: Int, mlpRatio: Float = 4, classDropout: Float = 0.1, learnSigma: Bool = true) {
            self.imageSize = imageSize
            self.patchSize = patchSize
            self.channels = channels
            self.classes = classes
            self.dimension = dimension
            self.depth = depth
            self.heads = heads
            self.mlpRatio = mlpRatio
            self.classDropout = classDropout
            self.learnSigma = learnSigma
        }

        /// Width/depth/heads/patch of the named presets, sized for small images (the
        /// project's benchmark models, 28×28): `dit-s*` is 192 wide, `dit-b*` 384 (the width
        /// of the paper's DiT-S; these names are this project's, not the paper's).
        public static let presets: [String: (dimension: Int, depth: Int, heads: Int, patchSize: Int)] = [
            "dit-s4": (192, 6, 3, 4), "dit-s2": (192, 6, 3, 2), "dit-b4": (384, 12, 6, 4), "dit-b2": (384, 12, 6, 2),
        ]

        public var gridSize: Int { imageSize / patchSize }
        public var outChannels: Int { learnSigma ? 2 * channels : channels }

        /// Every problem with the sizes, as one error.
        public func validate() throws {
            var problems: [String] = []
            for (name, v) in [("image size", imageSize), ("patch size", patchSize), ("channels", channels),
                              ("classes", classes), ("dimension", dimension), ("depth", depth), ("heads", heads)]
            where v <= 0 {
                problems.append("\(name) must be positive, got \(v)")
            }
            if patchSize > 0, imageSize % patchSize != 0 {
                problems.append("patch size \(patchSize) does not divide image size \(imageSize)")
            }
            if heads > 0, dimension % heads != 0 { problems.append("\(heads) heads do not divide width \(dimension)") }
            if dimension % 4 != 0 {
                problems.append("width \(dimension) must be a multiple of 4 (the 2-D sin-cos position embedding)")
            }
            if !(mlpRatio > 0) || Int(Float(dimension) * mlpRatio) < 1 {
                problems.append("mlp ratio \(mlpRatio) must give a positive hidden width")
            }
            if !(classDropout >= 0 && classDropout < 1) {
                problems.append("class dropout \(classDropout) must be in [0, 1)")
            }
            if !problems.isEmpty { throw TensorError("dit", problems.joined(separator: "; ")) }
        }
    }

    public let configuration: Configuration
    public let xEmbedder: PatchEmbedding
    public let tEmbedder: TimestepEmbedder
    public let yEmbedder: LabelEmbedder
    public let posEmbed: Parameter
    public let blocks: ModuleList<DiTBlock>
    public let finalLayer: DiTFinalLayer
    /// Stage identifiers (SID), when enabled.
    public private(set) var sidEmbedder: StageEmbedder?
    /// How the model was prepared for fine-tuning (`prepareFineTuning`): which parameters
    /// fine-tuning may train at all.
    public internal(set) var fineTuningMethod: FineTuningMethod = .full
    /// When true, blocks below the lowest block with a trainable parameter get the
    /// condition without its gradient, so backward stops at that block even when the
    /// conditioning (SID, class or timestep embedding) trains: the conditioning then learns
    /// only through the trainable blocks and the final layer. Set by an output-first
    /// `LearnableMask`; the forward pass is unchanged either way.
    public var conditionGradientStopsAtLowestLearnableBlock = false

    public init(_ c: Configuration) throws {
        try c.validate()
        configuration = c
        xEmbedder = PatchEmbedding(channels: c.channels, dimension: c.dimension, patchSize: c.patchSize)
        tEmbedder = TimestepEmbedder(dimension: c.dimension)
        yEmbedder = LabelEmbedder(classes: c.classes, dimension: c.dimension, dropout: c.classDropout)
        posEmbed = Parameter(try sinCosPositionEmbedding(dimension: c.dimension, gridHeight: c.gridSize,
                                                         gridWidth: c.gridSize), requiresGrad: false)
        blocks = ModuleList((0..<c.depth).map { _ in
            DiTBlock(dimension: c.dimension, heads: c.heads, mlpRatio: c.mlpRatio)
        })
        finalLayer = DiTFinalLayer(dimension: c.dimension, patchSize: c.patchSize, outChannels: c.outChannels)
        super.init()
        // PyTorch's state_dict order: the module's own parameter first, then its children.
        register("pos_embed", posEmbed)
        register("x_embedder", xEmbedder)
        register("t_embedder", tEmbedder)
        register("y_embedder", yEmbedder)
        register("blocks", blocks)
        register("final_layer", finalLayer)
        try initializeWeights()
    }

    /// DiT's `initialize_weights`, from the `initialization` random stream: xavier-uniform
    /// Linear weights (the patch projection's on its [D, C·p·p] view) with zero biases;
    /// N(0, 0.02) label table and timestep-MLP weights; and the adaLN-Zero part, zero
    /// modulation Linears in every block and the final layer, and a zero output Linear.
    private func initializeWeights() throws {
        func xavierUniform(_ p: Parameter) throws {
            let fanOut = p.shape[0], fanIn = p.count / fanOut
            let bound = (6 / Float(fanIn + fanOut)).squareRoot()
            try p.assign(Tensor.rand(p.shape, low: -bound, high: bound))
        }
        func zero(_ p: Parameter?) throws { if let p { try p.assign(Tensor.zeros(p.shape)) } }
        func normal(_ p: Parameter) throws { try p.assign(Tensor.randn(p.shape, std: 0.02)) }

        for (_, m) in namedModules() {
            guard let l = m as? Linear else { continue }
            try xavierUniform(l.weight)
            try zero(l.bias)
        }
        try xavierUniform(xEmbedder.proj.weight)
        try zero(xEmbedder.proj.bias)
        try normal(yEmbedder.embeddingTable.weight)
        for case let l as Linear in tEmbedder.mlp.layers { try normal(l.weight) }
        for block in blocks.items {
            try zero(block.modulation.weight)
            try zero(block.modulation.bias)
        }
        try zero(finalLayer.modulation.weight)
        try zero(finalLayer.modulation.bias)
        try zero(finalLayer.linear.weight)
        try zero(finalLayer.linear.bias)
    }

    /// Keeps `pos_embed` fixed whatever the rest does, as DiT's `requires_grad=False`.
    public override func setRequiresGrad(_ on: Bool) {
        super.setRequiresGrad(on)
        posEmbed.requiresGrad = false
    }

    /// The label meaning "unconditional" (`classes`), present when `classDropout` > 0.
    public var nullClass: Int? { yEmbedder.nullClass }

    // MARK: Stage identifiers (SID)

    /// Adds a learned stage-embedding table (`sid_embedder.embedding_table.weight`,
    /// [stages + 1, D], N(0, 0.02)) added to the class embedding; the current stage starts
    /// at the final one. Enable it after loading a checkpoint made without it. Enabling
    /// again with the same number of stages changes nothing.
    public func enableStageIdentifiers(stages: Int) throws {
        if let sid = sidEmbedder {
            guard sid.stages == stages else {
                throw TensorError("sid", "stage identifiers are already enabled with \(sid.stages) stages, not \(stages)")
            }
            return
        }
        sidEmbedder = register("sid_embedder", try StageEmbedder(stages: stages, dimension: configuration.dimension))
    }

    /// The SID row conditional images get (0-based), nil without stage identifiers.
    public var stage: Int? { sidEmbedder?.stage }

    /// Selects the stage identifier of the coming steps (0-based; the final stage for sampling).
    public func setStage(_ k: Int) throws {
        guard let sid = sidEmbedder else {
            throw TensorError("sid", "this DiT has no stage identifiers (enable them first)")
        }
        try sid.setStage(k)
    }

    /// The position embedding for a `rows`×`columns` patch grid, [1, rows·columns, D]:
    /// `pos_embed` itself at the configured grid, else `pos_embed` as a [1, D, n, n] image
    /// bicubically resized to the grid (timm's `resample_abs_pos_embed`, the AutoProg-Zero
    /// reference). Why not the sin-cos table of the smaller grid: its positions 0…rows−1
    /// are those of the full image's top-left patches, so training at a lower resolution
    /// would teach the blocks a corner of the image, not the whole of it.
    public func positionEmbedding(rows: Int, columns: Int) throws -> Tensor {
        let n = configuration.gridSize
        if rows == n, columns == n { return posEmbed.value }
        return try Autograd.withoutGradients {
            try resizedPositionGrid(posEmbed.value, grid: n, rows: rows, columns: columns)
        }
    }

    /// ε (and, with `learnSigma`, the variance values) for noisy images x [B, C, H, W] at
    /// timesteps [B] (floats) with class labels (0-based, `nullClass` = unconditional; nil
    /// = all unconditional, which needs a null class). H and W may differ from the
    /// configured image size if the patch size divides them. In training mode each label
    /// is dropped to the null class with probability `classDropout`; with stage identifiers,
    /// an image whose label (after dropping) is the null class gets the null stage, the
    /// others the current `stage`.
    /// Returns [B, C_out, H, W].
    public func forward(_ x: Tensor, timesteps: Tensor, labels: [Int]?) throws -> Tensor {
        let c = configuration, p = c.patchSize
        guard x.rank == 4, x.shape[1] == c.channels else {
            throw TensorError("dit", "images of shape \(x.shape) must be [B, \(c.channels), H, W]")
        }
        let (batch, height, width) = (x.shape[0], x.shape[2], x.shape[3])
        guard height > 0, width > 0, height % p == 0, width % p == 0 else {
            throw TensorError("dit", "patch size \(p) does not divide the image size \(height)×\(width) of images \(x.shape)")
        }
        guard timesteps.shape == [batch] else {
            throw TensorError("dit", "timesteps of shape \(timesteps.shape) must be [\(batch)], one per image of \(x.shape)")
        }
        let y = try checkedLabels(labels, batch: batch)

        let labelsInForce = yEmbedder.labelsInForce(y)
        var condition = try tEmbedder(timesteps) + yEmbedder.embeddingTable(labelsInForce)
        if let sid = sidEmbedder { condition = try condition + sid(labels: labelsInForce, nullClass: nullClass) }
        var tokens = try xEmbedder(x) + positionEmbedding(rows: height / p, columns: width / p)
        let lowestLearnable = conditionGradientStopsAtLowestLearnableBlock
            ? blocks.items.firstIndex { $0.hasTrainableParameters } ?? blocks.count : 0
        let detachedCondition = condition.detached()
        for (i, block) in blocks.items.enumerated() {
            tokens = try block(tokens, condition: i < lowestLearnable ? detachedCondition : condition)
        }
        let patches = try finalLayer(tokens, condition: condition)
        return try unpatchify(patches, patch: p, channels: c.outChannels, height: height, width: width)
    }

    /// Labels checked against the table: one per image, each a class or the null class.
    private func checkedLabels(_ labels: [Int]?, batch: Int) throws -> [Int] {
        let classes = configuration.classes
        guard let labels else {
            guard let null = nullClass else {
                throw TensorError("dit", "labels are required: this DiT has no null class (class dropout 0)")
            }
            return Array(repeating: null, count: batch)
        }
        guard labels.count == batch else {
            throw TensorError("dit", "\(labels.count) labels for a batch of \(batch) images")
        }
        let valid = nullClass == nil ? "0..<\(classes)" : "0...\(classes) (\(classes) = null class)"
        if let k = labels.firstIndex(where: { !(0..<yEmbedder.embeddingTable.count).contains($0) }) {
            throw TensorError("dit", "label \(labels[k]) at position \(k) is out of range \(valid)")
        }
        return labels
    }

    public override var extraDescription: String {
        let c = configuration
        return "image=\(c.imageSize), patch=\(c.patchSize), channels=\(c.channels), classes=\(c.classes), "
            + "dim=\(c.dimension), depth=\(c.depth), heads=\(c.heads), learn_sigma=\(c.learnSigma)"
            + (fineTuningMethod == .full ? "" : ", fine_tuning=\(fineTuningMethod.rawValue)")
    }
}
