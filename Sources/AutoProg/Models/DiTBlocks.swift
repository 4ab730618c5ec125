/// The parts of a DiT (facebookresearch/DiT models.py), under its module names.

/// x·(1 + scale) + shift with per-sample scale and shift [B, D] broadcast over the tokens
/// of x [B, T, D]: DiT's `modulate`, the "adaptive" in adaLN.
func modulate(_ x: Tensor, shift: Tensor, scale: Tensor) throws -> Tensor {
    try x * (scale.unsqueezed(1) + 1) + shift.unsqueezed(1)
}

/// Diffusion timesteps to vectors (DiT's `TimestepEmbedder`): the sinusoidal embedding of
/// t with `frequencySize` (256) frequencies, cos half first, then `mlp` = Linear → SiLU →
/// Linear, as `mlp.0` and `mlp.2`.
public final class TimestepEmbedder: Module {
    public let mlp: Sequential
    public let frequencySize: Int

    public init(dimension: Int, frequencySize: Int = 256) {
        self.frequencySize = frequencySize
        mlp = Sequential([Linear(frequencySize, dimension), SiLU(), Linear(dimension, dimension)])
        super.init()
        register("mlp", mlp)
    }

    /// Timesteps [B] (floats) → [B, dimension].
    public override func forward(_ timesteps: Tensor) throws -> Tensor {
        try mlp(timestepEmbedding(timesteps, dimension: frequencySize))
    }

    public override var extraDescription: String { "frequencies=\(frequencySize)" }
}

/// Class labels to vectors (DiT's `LabelEmbedder`): `embedding_table` has one row per
/// class, plus the null class (row `classes`) when labels are dropped for classifier-free
/// guidance (`dropout` > 0).
public final class LabelEmbedder: Module {
    public let embeddingTable: Embedding
    public let classes: Int
    public let dropout: Float

    public init(classes: Int, dimension: Int, dropout: Float) {
        self.classes = classes
        self.dropout = dropout
        embeddingTable = Embedding(count: classes + (dropout > 0 ? 1 : 0), dimension: dimension)
        super.init()
        register("embedding_table", embeddingTable)
    }

    /// The label meaning "no class", if the table has its row.
    public var nullClass: Int? { dropout > 0 ? classes : nil }

    /// Labels with each replaced by the null class with probability `dropout` (DiT's
    /// `token_drop`), one uniform draw per label from the `dropout` random stream, so a
    /// seeded (or resumed) run drops the same labels. Labels already null stay null.
    public func droppingLabels(_ labels: [Int]) -> [Int] {
        guard let null = nullClass else { return labels }
        return Random.with(.dropout) { stream in
            labels.map { stream.nextFloat() < dropout ? null : $0 }
        }
    }

    /// Labels (0-based; `nullClass` allowed) → [B, dimension]; labels are dropped first in
    /// training mode.
    public func callAsFunction(_ labels: [Int]) throws -> Tensor {
        try embeddingTable(isTraining ? droppingLabels(labels) : labels)
    }

    public override var extraDescription: String { "classes=\(classes), dropout=\(dropout)" }
}

/// A DiT block with adaLN-Zero conditioning (DiT's `DiTBlock`): the condition c [B, D]
/// gives, through `adaLN_modulation` (SiLU → Linear(D, 6D)), a shift, scale and gate for
/// each of the two residual branches:
///   x + gate₁·Attn(modulate(LN(x), shift₁, scale₁)), then
///   x + gate₂·MLP(modulate(LN(x), shift₂, scale₂)).
/// The norms have no affine parameters (ε = 1e-6); the MLP uses tanh-approximated GELU.
/// With the modulation's Linear zero-initialised, every gate is 0 and the block starts as
/// the identity.
public final class DiTBlock: Module {
    public let norm1: LayerNorm
    public let attn: SelfAttention
    public let norm2: LayerNorm
    public let mlp: MLP
    public let adaLNModulation: Sequential
    /// The modulation Linear (`adaLN_modulation.1`).
    public let modulation: Linear

    public init(dimension: Int, heads: Int, mlpRatio: Float) {
        norm1 = LayerNorm(dimension, epsilon: 1e-6, elementwiseAffine: false)
        attn = SelfAttention(dimension: dimension, heads: heads)
        norm2 = LayerNorm(dimension, epsilon: 1e-6, elementwiseAffine: false)
        mlp = MLP(dimension: dimension, hidden: Int(Float(dimension) * mlpRatio), approximation: .tanh)
        modulation = Linear(dimension, 6 * dimension)
        adaLNModulation = Sequential([SiLU(), modulation])
        super.init()
        register("norm1", norm1)
        register("attn", attn)
        register("norm2", norm2)
        register("mlp", mlp)
        register("adaLN_modulation", adaLNModulation)
    }

    /// Tokens x [B, T, D] under condition c [B, D] → [B, T, D].
    public func callAsFunction(_ x: Tensor, condition c: Tensor) throws -> Tensor {
        let m = try adaLNModulation(c).chunked(6, axis: 1)
        let (shiftMSA, scaleMSA, gateMSA, shiftMLP, scaleMLP, gateMLP) = (m[0], m[1], m[2], m[3], m[4], m[5])
        let h = try x + gateMSA.unsqueezed(1) * attn(modulate(norm1(x), shift: shiftMSA, scale: scaleMSA))
        return try h + gateMLP.unsqueezed(1) * mlp(modulate(norm2(h), shift: shiftMLP, scale: scaleMLP))
    }
}

/// DiT's `FinalLayer`: modulate(LN(x), shift, scale) → `linear` to p·p·C_out values per
/// token, ordered (p, q, c) as `unpatchify` expects; shift and scale come from
/// `adaLN_modulation` (SiLU → Linear(D, 2D)).
public final class DiTFinalLayer: Module {
    public let normFinal: LayerNorm
    public let linear: Linear
    public let adaLNModulation: Sequential
    /// The modulation Linear (`adaLN_modulation.1`).
    public let modulation: Linear

    public init(dimension: Int, patchSize: Int, outChannels: Int) {
        normFinal = LayerNorm(dimension, epsilon: 1e-6, elementwiseAffine: false)
        linear = Linear(dimension, patchSize * patchSize * outChannels)
        modulation = Linear(dimension, 2 * dimension)
        adaLNModulation = Sequential([SiLU(), modulation])
        super.init()
        register("norm_final", normFinal)
        register("linear", linear)
        register("adaLN_modulation", adaLNModulation)
    }

    /// Tokens [B, T, D] under condition c [B, D] → [B, T, p·p·C_out].
    public func callAsFunction(_ x: Tensor, condition c: Tensor) throws -> Tensor {
        let m = try adaLNModulation(c).chunked(2, axis: 1)
        return try linear(modulate(normFinal(x), shift: m[0], scale: m[1]))
    }
}
