import CKernels

/// One recorded operation (or a leaf) in the autodiff graph.
///
/// An op that has at least one input taking part in autodiff attaches a node to its
/// result. The node keeps the input nodes and a closure that maps the gradient of the
/// op's output to gradients of its inputs; the closure captures only what that backward
/// needs. Inputs that do not require gradients (constants, frozen parameters) have no
/// node, so no work is recorded below the lowest trainable parameter and no weight
/// gradient is computed for frozen weights.
public final class GradNode {
    public let op: String
    /// Nodes of the op's inputs, position by position; nil where an input needs no gradient.
    let inputs: [GradNode?]
    /// Maps the output gradient to one gradient per input (nil where not needed).
    /// Released after it runs, freeing the saved activations.
    var backward: ((Tensor) -> [Tensor?])?
    /// The accumulated gradient of the loss with respect to this node's tensor.
    public internal(set) var grad: Tensor?
    /// Whether `grad`'s memory belongs to this node (so later contributions may add in place).
    var ownsGrad = false
    public let isLeaf: Bool

    /// A leaf: a tensor the user asked gradients for, or a parameter.
    /// `gradBuffer`, when given, is zeroed memory gradients accumulate into (a parameter's grad).
    init(leafGradBuffer gradBuffer: Tensor? = nil) {
        op = "leaf"
        inputs = []
        backward = nil
        isLeaf = true
        grad = gradBuffer
        ownsGrad = gradBuffer != nil
    }

    init(op: String, inputs: [GradNode?], backward: @escaping (Tensor) -> [Tensor?]) {
        self.op = op
        self.inputs = inputs
        self.backward = backward
        isLeaf = false
    }

    /// Adds a contribution to this node's gradient.
    func accumulate(_ g: Tensor) {
        guard let current = grad else {
            // Adopt without copying; an adopted buffer may be shared, so never write to it.
            grad = g.contiguous()
            ownsGrad = false
            return
        }
        precondition(current.count == g.count, "autodiff: gradient of \(op) has \(g.count) elements, expected \(current.count)")
        let gc = g.contiguous()
        if ownsGrad {
            ck_axpy(current.count, 1, gc.pointer, current.pointer)
        } else {
            let sum = Tensor(uninitializedShape: current.shape)
            sum.pointer.update(from: current.pointer, count: current.count)
            ck_axpy(sum.count, 1, gc.pointer, sum.pointer)
            grad = sum
            ownsGrad = true
        }
    }
}

/// Global autodiff switches.
public enum Autograd {
    nonisolated(unsafe) public private(set) static var isEnabled = true

    /// Runs `body` without recording operations (evaluation, sampling, weight surgery).
    public static func withoutGradients<T>(_ body: () throws -> T) rethrows -> T {
        let saved = isEnabled
        isEnabled = false
        defer { isEnabled = saved }
        return try body()
    }

    /// Runs `body` with recording switched on or off.
    public static func withGradients<T>(_ enabled: Bool, _ body: () throws -> T) rethrows -> T {
        let saved = isEnabled
        isEnabled = enabled
        defer { isEnabled = saved }
        return try body()
    }
}

extension Tensor {
    /// Whether gradients flow back through this tensor.
    public var requiresGrad: Bool { gradNode != nil }

    /// This tensor as a new autodiff leaf (PyTorch's `x.requires_grad_()` on a detached copy).
    public func requiringGrad() -> Tensor {
        var t = self
        t.gradNode = GradNode()
        return t
    }

    /// The accumulated gradient of a leaf after `backward()`, if any.
    public var grad: Tensor? { gradNode?.grad }

    /// Attaches a node for `op` to this freshly computed result when recording is on and
    /// any input requires gradients. `backward` returns one gradient per input, in order,
    /// shaped like that input (nil where the input does not require gradients).
    public func recorded(_ op: String, inputs: [Tensor], backward: @escaping (Tensor) -> [Tensor?]) -> Tensor {
        guard Autograd.isEnabled, inputs.contains(where: { $0.gradNode != nil }) else { return self }
        var out = self
        out.gradNode = GradNode(op: op, inputs: inputs.map(\.gradNode), backward: backward)
        return out
    }

    /// Back-propagates from this tensor: `gradient` is d(loss)/d(self); it defaults to 1
    /// for a one-element tensor. Leaf gradients accumulate across calls, as in PyTorch.
    public func backward(gradient: Tensor? = nil) throws {
        guard let root = gradNode else {
            throw TensorError("backward", "tensor of shape \(shape) does not require gradients")
        }
        let seed: Tensor
        if let gradient {
            guard gradient.shape == shape else {
                throw TensorError.shapes("backward", shape, gradient.shape, "differ (output and its gradient)")
            }
            seed = gradient.detached()
        } else {
            guard count == 1 else {
                throw TensorError("backward", "output of shape \(shape) is not a scalar; pass a gradient")
            }
            seed = Tensor.ones(shape)
        }
        if !root.isLeaf, root.backward == nil {
            throw TensorError("backward", "the graph of \(root.op) was already used by an earlier backward()")
        }
        let order = GradNode.topologicalOrder(from: root)
        root.accumulate(seed)
        for node in order.reversed() {
            guard let fn = node.backward else { continue }
            guard let g = node.grad else {
                node.backward = nil
                continue
            }
            let grads = fn(g)
            for (input, gi) in zip(node.inputs, grads) {
                if let input, let gi { input.accumulate(gi) }
            }
            // Free saved activations and the intermediate gradient as soon as they are used.
            node.backward = nil
            node.grad = nil
        }
    }
}

extension GradNode {
    /// Nodes reachable from `root`, inputs before the ops that use them.
    static func topologicalOrder(from root: GradNode) -> [GradNode] {
        var order: [GradNode] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(GradNode, Int)] = [(root, 0)]
        visited.insert(ObjectIdentifier(root))
        while let (node, next) = stack.popLast() {
            if next < node.inputs.count {
                stack.append((node, next + 1))
                if let child = node.inputs[next], child.backward != nil || child.isLeaf,
                   visited.insert(ObjectIdentifier(child)).inserted {
                    stack.append((child, 0))
                }
            } else {
                order.append(node)
            }
        }
        return order
    }
}
