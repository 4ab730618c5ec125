/// `torch.nn.Dropout(p)`: element dropout while the module is training, identity in eval.
public final class Dropout: Module {
    public let probability: Float

    public init(_ probability: Float = 0.5) {
        self.probability = probability
        super.init()
    }

    public override func forward(_ x: Tensor) throws -> Tensor {
        try dropout(x, probability: probability, training: isTraining)
    }

    public override var extraDescription: String { "p=\(probability)" }
}

/// timm's `DropPath(p)`: per-sample stochastic depth while training, identity in eval.
public final class DropPath: Module {
    public let probability: Float

    public init(_ probability: Float = 0) {
        self.probability = probability
        super.init()
    }

    public override func forward(_ x: Tensor) throws -> Tensor {
        try dropPath(x, probability: probability, training: isTraining)
    }

    public override var extraDescription: String { "drop_prob=\(probability)" }
}
