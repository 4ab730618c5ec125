/// Vision Transformer in timm's `VisionTransformer` layout and parameter names
/// (`cls_token`, `pos_embed`, `patch_embed.proj`, `blocks.N.{norm1, attn.qkv, attn.proj,
/// norm2, mlp.fc1, mlp.fc2}`, `norm`, `head`), so timm state dicts load unchanged.
///
/// Pre-norm blocks: x + Attn(LN(x)), then x + MLP(LN(x)); classification from the class
/// token after the final norm. LayerNorm ε = 1e-6 and exact (erf) GELU, as timm.
///
/// Elastic for progressive training (AutoProg §3.1): `activeGrid` runs the model on fewer
/// (or more) patches and `activeBlocks` on a subset of its blocks, both without changing its
/// parameters; with both nil (the default) the forward pass is timm's.
public final class VisionTransformer: Module {
    public struct Configuration: Equatable, Sendable {
        public var imageSize: Int
        public var patchSize: Int
        public var channels: Int
        public var classes: Int
        public var dimension: Int
        public var depth: Int
        public var heads: Int
        public var mlpRatio: Float = 4
        public var dropPath: Float = 0

        public init(imageSize: Int, patchSize: Int, channels: Int, classes: Int, dimension: Int, depth: Int,
                    heads: Int, mlpRatio: Float = 4, dropPath: Float = 0) {
            self.imageSize = imageSize
            self.patchSize = patchSize
            self.channels = channels
            self.classes = classes
            self.dimension = dimension
            self.depth = depth
            self.heads = heads
            self.mlpRatio = mlpRatio
            self.dropPath = dropPath
        }

        /// Width/depth/heads of the named presets (DeiT-Tiny = `vit-tiny`).
        public static let presets: [String: (dimension: Int, depth: Int, heads: Int)] = [
            "vit-nano": (96, 6, 3), "vit-micro": (128, 8, 4), "vit-tiny": (192, 12, 3), "vit-small": (384, 12, 6),
        ]

        public var gridSize: Int { imageSize / patchSize }
        public var patchCount: Int { gridSize * gridSize }
    }

    public let configuration: Configuration
    public let patchEmbed: PatchEmbedding
    public let clsToken: Parameter
    public let posEmbed: Parameter
    public let blocks: ModuleList<TransformerBlock>
    public let norm: LayerNorm
    public let head: Linear

    /// Patch-grid side to run at (nil = the configured `gridSize`). Images are resized
    /// (bilinear) to grid·patch pixels and the full-size `pos_embed` is bicubically
    /// resampled to the grid on every forward, so its gradient reaches the full parameter
    /// and a grid larger than trained evaluates at higher resolution (timm's
    /// `resample_abs_pos_embed`, `dynamic_img_size`).
    public var activeGrid: Int?
    /// Indices into `blocks` of the blocks to run, in order (nil = all): elastic depth,
    /// so a grown supernet can run any of its sub-networks.
    public var activeBlocks: [Int]?

    /// Sets the stochastic-depth rate: block i drops its branches with probability
    /// rate·i/(depth−1), timm's linear rule (adaptive regularisation changes it per stage).
    public func setDropPath(_ rate: Float) throws {
        guard rate >= 0, rate < 1 else { throw TensorError("vit", "drop-path rate must be in [0, 1), got \(rate)") }
        let n = blocks.count
        for (i, block) in blocks.items.enumerated() { block.dropPath = n > 1 ? rate * Float(i) / Float(n - 1) : rate }
    }

    public init(_ c: Configuration) throws {
        guard c.patchSize > 0, c.imageSize % c.patchSize == 0 else {
            throw TensorError("vit", "patch size \(c.patchSize) does not divide image size \(c.imageSize)")
        }
        guard c.heads > 0, c.dimension % c.heads == 0 else {
            throw TensorError("vit", "\(c.heads) heads do not divide width \(c.dimension)")
        }
        configuration = c
        patchEmbed = PatchEmbedding(channels: c.channels, dimension: c.dimension, patchSize: c.patchSize)
        clsToken = Parameter(Tensor.randn([1, 1, c.dimension], std: 1e-6))
        posEmbed = Parameter(Tensor.truncatedNormal([1, c.patchCount + 1, c.dimension], std: 0.02))
        // Stochastic depth rises linearly with depth, as timm's dpr.
        blocks = ModuleList((0..<c.depth).map { i in
            let rate = c.depth > 1 ? c.dropPath * Float(i) / Float(c.depth - 1) : c.dropPath
            return TransformerBlock(dimension: c.dimension, heads: c.heads, mlpRatio: c.mlpRatio, dropPath: rate)
        })
        norm = LayerNorm(c.dimension, epsilon: 1e-6)
        head = Linear(c.dimension, c.classes)
        super.init()
        register("patch_embed", patchEmbed)
        register("cls_token", clsToken)
        register("pos_embed", posEmbed)
        register("blocks", blocks)
        register("norm", norm)
        register("head", head)
        initializeLinearLayers()
    }

    /// timm's default init: Linear weights ~ trunc_normal(0.02), biases 0.
    private func initializeLinearLayers() {
        for (_, m) in namedModules() {
            guard let l = m as? Linear else { continue }
            try? l.weight.assign(Tensor.truncatedNormal(l.weight.shape, std: 0.02))
            if let b = l.bias { try? b.assign(Tensor.zeros(b.shape)) }
        }
    }

    /// Token features after the final norm: [B, 1 + patches, dim], at `activeGrid`.
    public func features(_ images: Tensor) throws -> Tensor {
        try features(images, patchGrid: activeGrid)
    }

    /// Token features at a patch grid of `patchGrid`² patches (nil = the images as given:
    /// the stored position embedding at the configured size, resampled to the images'
    /// own grid at any other size, as timm's `dynamic_img_size`).
    public func features(_ images: Tensor, patchGrid: Int?) throws -> Tensor {
        var input = images, position = posEmbed.value
        let p = configuration.patchSize
        var grid = patchGrid
        if grid == nil, images.rank == 4, images.shape[2] == images.shape[3], images.shape[2] != configuration.imageSize {
            guard images.shape[2] % p == 0 else {
                throw TensorError("vit", "images of side \(images.shape[2]) are not a whole number of \(p)-pixel patches")
            }
            grid = images.shape[2] / p
        }
        if let grid {
            let side = grid * configuration.patchSize
            guard images.rank == 4 else {
                throw TensorError("vit", "images of shape \(images.shape) must be [B, C, H, W]")
            }
            if images.shape[2] != side || images.shape[3] != side {
                input = try resize(images, height: side, width: side, mode: .bilinear)
            }
            position = try positionEmbedding(grid: grid)
        }
        let tokens = try patchEmbed(input)                          // [B, N, D]
        let batch = tokens.shape[0]
        let cls = try clsToken.value.expanded(to: [batch, 1, configuration.dimension])
        var x = try Tensor.concatenated([cls, tokens], axis: 1) + position
        if let active = activeBlocks {
            for i in active {
                guard blocks.items.indices.contains(i) else {
                    throw TensorError("vit", "active block \(i) is out of range for \(blocks.count) blocks")
                }
                x = try blocks[i](x)
            }
        } else {
            for block in blocks.items { x = try block(x) }
        }
        return try norm(x)
    }

    /// `pos_embed` for a `grid`×`grid` patch grid [1, 1 + grid², D]: the class position
    /// unchanged, the patch part as a [1, D, n, n] image bicubically resized to the grid
    /// (timm's `resample_abs_pos_embed`). Differentiable into the full parameter.
    public func positionEmbedding(grid: Int) throws -> Tensor {
        guard grid > 0 else { throw TensorError("vit", "patch grid must be positive, got \(grid)") }
        let n = configuration.gridSize
        let full = posEmbed.value
        let cls = try full.sliced(axis: 1, 0..<1)
        let patches = try resizedPositionGrid(full.sliced(axis: 1, 1..<(1 + n * n)), grid: n, rows: grid, columns: grid)
        return try Tensor.concatenated([cls, patches], axis: 1)
    }

    /// Class logits [B, classes] for images [B, C, H, W], at `activeGrid`.
    public override func forward(_ images: Tensor) throws -> Tensor {
        try forward(images, patchGrid: activeGrid)
    }

    /// Class logits with the images run at a `patchGrid`² patch grid (see `activeGrid`).
    public func forward(_ images: Tensor, patchGrid: Int?) throws -> Tensor {
        let x = try features(images, patchGrid: patchGrid)
        let clsFeatures = try x.sliced(axis: 1, 0..<1).squeezed(1)  // [B, D]
        return try head(clsFeatures)
    }

    public override var extraDescription: String {
        let c = configuration
        return "image=\(c.imageSize), patch=\(c.patchSize), dim=\(c.dimension), depth=\(c.depth), heads=\(c.heads)"
    }
}

/// Non-overlapping patches projected to tokens: timm's `PatchEmbed` (a Conv2d with
/// stride = kernel = patch, weight [D, C, p, p]) computed as patchify + one GEMM.
public final class PatchEmbedding: Module {
    public let proj: Conv2d
    public let patchSize: Int

    public init(channels: Int, dimension: Int, patchSize: Int) {
        self.patchSize = patchSize
        proj = Conv2d(channels, dimension, kernelSize: patchSize, stride: patchSize)
        super.init()
        register("proj", proj)
    }

    /// [B, C, H, W] → [B, (H/p)(W/p), D].
    public override func forward(_ images: Tensor) throws -> Tensor {
        let d = proj.weight.shape[0]
        let w = try proj.weight.value.reshaped([d, -1])
        return try linear(patchify(images, patch: patchSize), weight: w, bias: proj.bias?.value)
    }
}

/// timm's `Block`: x + DropPath(Attn(LN(x))), then x + DropPath(MLP(LN(x))).
///
/// Optionally ReZero-scaled (`enableReZero`): x + γ₁·Attn(LN(x)), then x + γ₂·MLP(LN(x)),
/// with scalar parameters `gamma_1`/`gamma_2` that exist only when enabled, so default
/// state dicts stay timm's. Identity growth zero-initialises them on new blocks.
public final class TransformerBlock: Module {
    public let norm1: LayerNorm
    public let attn: SelfAttention
    public let norm2: LayerNorm
    public let mlp: MLP
    public var dropPath: Float
    /// ReZero scalars [1] on the attention and MLP residual branches (nil = not scaled).
    public private(set) var reZero: (gamma1: Parameter, gamma2: Parameter)?

    public init(dimension: Int, heads: Int, mlpRatio: Float, dropPath: Float = 0) {
        norm1 = LayerNorm(dimension, epsilon: 1e-6)
        attn = SelfAttention(dimension: dimension, heads: heads)
        norm2 = LayerNorm(dimension, epsilon: 1e-6)
        mlp = MLP(dimension: dimension, hidden: Int(Float(dimension) * mlpRatio))
        self.dropPath = dropPath
        super.init()
        register("norm1", norm1)
        register("attn", attn)
        register("norm2", norm2)
        register("mlp", mlp)
    }

    /// Adds the ReZero scalars (`gamma_1`, `gamma_2`) with the given value; if they exist,
    /// sets them to it.
    public func enableReZero(value: Float = 0) throws {
        if let (g1, g2) = reZero {
            try g1.assign(Tensor.full([1], value))
            try g2.assign(Tensor.full([1], value))
            return
        }
        reZero = (register("gamma_1", Parameter(Tensor.full([1], value))),
                  register("gamma_2", Parameter(Tensor.full([1], value))))
    }

    public override func forward(_ x: Tensor) throws -> Tensor {
        var a = try AutoProg.dropPath(attn(norm1(x)), probability: dropPath, training: isTraining)
        if let (g1, _) = reZero { a = try a * g1.value }
        let h = try x + a
        var m = try AutoProg.dropPath(mlp(norm2(h)), probability: dropPath, training: isTraining)
        if let (_, g2) = reZero { m = try m * g2.value }
        return try h + m
    }
}

/// Multi-head self-attention with a fused qkv projection (timm's `Attention`).
public final class SelfAttention: Module {
    public let qkv: Linear
    public let proj: Linear
    public let heads: Int

    public init(dimension: Int, heads: Int) {
        self.heads = heads
        qkv = Linear(dimension, 3 * dimension)
        proj = Linear(dimension, dimension)
        super.init()
        register("qkv", qkv)
        register("proj", proj)
    }

    public override func forward(_ x: Tensor) throws -> Tensor {
        try proj(selfAttention(qkv: qkv(x), heads: heads))
    }

    public override var extraDescription: String { "heads=\(heads)" }
}

/// Two-layer perceptron with GELU (timm's `Mlp`): fc1 → GELU → fc2.
public final class MLP: Module {
    public let fc1: Linear
    public let fc2: Linear
    public let approximation: GELUApproximation

    public init(dimension: Int, hidden: Int, approximation: GELUApproximation = .none) {
        fc1 = Linear(dimension, hidden)
        fc2 = Linear(hidden, dimension)
        self.approximation = approximation
        super.init()
        register("fc1", fc1)
        register("fc2", fc2)
    }

    public override func forward(_ x: Tensor) throws -> Tensor {
        try fc2(gelu(fc1(x), approximation: approximation))
    }
}
