/// `torch.nn.LayerNorm(dim)` over the last axis; with `elementwiseAffine` it owns
/// `weight` (ones) and `bias` (zeros) of shape [dim], under PyTorch's names.
public final class LayerNorm: Module {
    public let dim: Int
    public let epsilon: Float
    public let weight: Parameter?
    public let bias: Parameter?

    public init(_ dim: Int, epsilon: Float = 1e-5, elementwiseAffine: Bool = true) {
        self.dim = dim
        self.epsilon = epsilon
        weight = elementwiseAffine ? Parameter(Tensor.ones([dim])) : nil
        bias = elementwiseAffine ? Parameter(Tensor.zeros([dim])) : nil
        super.init()
        if let weight { register("weight", weight) }
        if let bias { register("bias", bias) }
    }

    public override func forward(_ x: Tensor) throws -> Tensor {
        try layerNorm(x, weight: weight?.value, bias: bias?.value, epsilon: epsilon)
    }

    public override var extraDescription: String {
        "(\(dim),), eps=\(epsilon)\(weight == nil ? ", elementwise_affine=False" : "")"
    }
}

/// `torch.nn.GroupNorm(groups, channels)` for [B, C, *spatial]; with `affine` it owns
/// per-channel `weight` (ones) and `bias` (zeros).
public final class GroupNorm: Module {
    public let groups: Int, channels: Int
    public let epsilon: Float
    public let weight: Parameter?
    public let bias: Parameter?

    public init(groups: Int, channels: Int, epsilon: Float = 1e-5, affine: Bool = true) {
        self.groups = groups
        self.channels = channels
        self.epsilon = epsilon
        weight = affine ? Parameter(Tensor.ones([channels])) : nil
        bias = affine ? Parameter(Tensor.zeros([channels])) : nil
        super.init()
        if let weight { register("weight", weight) }
        if let bias { register("bias", bias) }
    }

    public override func forward(_ x: Tensor) throws -> Tensor {
        try groupNorm(x, groups: groups, weight: weight?.value, bias: bias?.value, epsilon: epsilon)
    }

    public override var extraDescription: String {
        "\(groups), \(channels), eps=\(epsilon)\(weight == nil ? ", affine=False" : "")"
    }
}
