/// `torch.nn.GELU`: x·Φ(x), exact or tanh-approximated.
public final class GELU: Module {
    public let approximation: GELUApproximation

    public init(approximation: GELUApproximation = .none) {
        self.approximation = approximation
        super.init()
    }

    public override func forward(_ x: Tensor) throws -> Tensor { gelu(x, approximation: approximation) }

    public override var extraDescription: String { approximation == .none ? "" : "approximate='tanh'" }
}

/// `torch.nn.SiLU`: x·σ(x).
public final class SiLU: Module {
    public override init() { super.init() }
    public override func forward(_ x: Tensor) throws -> Tensor { silu(x) }
}

/// `torch.nn.ReLU`: max(x, 0).
public final class ReLU: Module {
    public override init() { super.init() }
    public override func forward(_ x: Tensor) throws -> Tensor { relu(x) }
}

/// `torch.nn.Tanh`.
public final class Tanh: Module {
    public override init() { super.init() }
    public override func forward(_ x: Tensor) throws -> Tensor { tanh(x) }
}

/// `torch.nn.Sigmoid`.
public final class Sigmoid: Module {
    public override init() { super.init() }
    public override func forward(_ x: Tensor) throws -> Tensor { sigmoid(x) }
}
