/// A lookup table of learned vectors (`torch.nn.Embedding`): weight [count, dimension],
/// initialised N(0, 1) as PyTorch does. Used for class labels (DiT) and token ids.
public final class Embedding: Module {
    public let weight: Parameter
    public let count: Int, dimension: Int

    public init(count: Int, dimension: Int) {
        self.count = count
        self.dimension = dimension
        weight = Parameter(Tensor.randn([count, dimension]))
        super.init()
        register("weight", weight)
    }

    /// Rows for indices held as integral floats of any shape: result `indices.shape + [dimension]`.
    public override func forward(_ indices: Tensor) throws -> Tensor {
        try embedding(indices, table: weight.value)
    }

    /// Rows for a list of indices: result [indices.count, dimension].
    public func callAsFunction(_ indices: [Int]) throws -> Tensor {
        try embedding(indices, table: weight.value)
    }

    public override var extraDescription: String { "\(count), \(dimension)" }
}
