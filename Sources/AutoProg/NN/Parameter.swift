import CKernels

/// A trainable tensor owned by a module: its value, its gradient buffer and whether it
/// is trained.
///
/// `value` is what layers compute with. When `requiresGrad` is true it carries a leaf
/// node whose gradient accumulates in place into `grad`; when false it carries none, so
/// ops skip the weight-gradient work for it entirely (frozen weights cost nothing).
public final class Parameter {
    public private(set) var value: Tensor
    /// Gradient buffer with the value's shape; zeroed by `zeroGrad()`.
    public private(set) var grad: Tensor
    public var requiresGrad: Bool { didSet { if requiresGrad != oldValue { attachLeaf() } } }

    public init(_ initial: Tensor, requiresGrad: Bool = true) {
        value = initial.contiguous().detached()
        grad = Tensor.zeros(initial.shape)
        self.requiresGrad = requiresGrad
        attachLeaf()
    }

    public var shape: [Int] { value.shape }
    public var count: Int { value.count }

    private func attachLeaf() {
        value.gradNode = requiresGrad ? GradNode(leafGradBuffer: grad) : nil
    }

    public func zeroGrad() {
        grad.pointer.update(repeating: 0, count: grad.count)
    }

    /// Copies new values in (same shape), keeping storage, gradient and trainability.
    public func assign(_ source: Tensor) throws {
        guard source.shape == value.shape else {
            throw TensorError.shapes("assign", value.shape, source.shape, "differ")
        }
        try value.assign(source)
    }

    /// Moves value and gradient into the given (flat) storages at `offset`, copying data.
    func rebind(values: Storage, grads: Storage, offset: Int) {
        let v = Tensor(storage: values, offset: offset, shape: value.shape)
        v.pointer.update(from: value.pointer, count: value.count)
        let g = Tensor(storage: grads, offset: offset, shape: grad.shape)
        g.pointer.update(from: grad.pointer, count: grad.count)
        value = v
        grad = g
        attachLeaf()
    }
}

/// Packs parameters into one value buffer and one gradient buffer (DESIGN §2), so that
/// zeroing gradients is one memset and AdamW is one pass. Each parameter starts on a
/// 64-byte boundary.
public enum ParameterPacking {
    /// True when the parameters already sit, in order, in one shared buffer.
    public static func isPacked(_ parameters: [Parameter]) -> Bool {
        guard let first = parameters.first else { return true }
        return parameters.allSatisfy { $0.value.storage === first.value.storage && $0.grad.storage === first.grad.storage }
    }

    @discardableResult
    public static func pack(_ parameters: [Parameter]) -> (values: Storage, grads: Storage)? {
        guard !parameters.isEmpty else { return nil }
        if isPacked(parameters) { return (parameters[0].value.storage, parameters[0].grad.storage) }
        var offsets: [Int] = []
        var total = 0
        for p in parameters {
            offsets.append(total)
            total += (p.count + 15) & ~15
        }
        let values = Storage(count: total), grads = Storage(count: total)
        values.pointer.update(repeating: 0, count: total)
        grads.pointer.update(repeating: 0, count: total)
        for (p, o) in zip(parameters, offsets) { p.rebind(values: values, grads: grads, offset: o) }
        return (values, grads)
    }
}
