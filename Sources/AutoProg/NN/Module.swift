import Foundation
import Collections

/// A state dict: parameter and buffer tensors by PyTorch-style dotted name, in order.
public typealias StateDict = OrderedDictionary<String, Tensor>

/// Base class of layers and models, after `torch.nn.Module`.
///
/// A module registers its parameters, buffers and children by name in its initialiser;
/// names compose into PyTorch's 0-based dotted paths (`blocks.3.attn.qkv.weight`) with
/// PyTorch's shapes (Linear `[out, in]`, Conv2d `[out, in, kh, kw]`), so state dicts
/// move between autoprog and timm/diffusers checkpoints unchanged.
open class Module: CustomStringConvertible {
    public private(set) var isTraining = true
    public private(set) var children: OrderedDictionary<String, Module> = [:]
    public private(set) var ownParameters: OrderedDictionary<String, Parameter> = [:]
    /// Non-trainable state saved in the state dict (fixed embeddings, running statistics).
    public private(set) var buffers: OrderedDictionary<String, Tensor> = [:]

    public init() {}

    // MARK: Registration

    @discardableResult
    public func register<M: Module>(_ name: String, _ module: M) -> M {
        children[name] = module
        return module
    }

    @discardableResult
    public func register(_ name: String, _ parameter: Parameter) -> Parameter {
        ownParameters[name] = parameter
        return parameter
    }

    public func registerBuffer(_ name: String, _ tensor: Tensor) {
        buffers[name] = tensor.detached()
    }

    /// Removes a child (for growth operators that restructure a model).
    public func unregister(child name: String) { children[name] = nil }

    // MARK: Traversal

    /// Every parameter with its dotted path, depth-first in registration order.
    public func namedParameters(prefix: String = "") -> [(String, Parameter)] {
        var out = ownParameters.map { (prefix + $0.key, $0.value) }
        for (name, child) in children { out += child.namedParameters(prefix: prefix + name + ".") }
        return out
    }

    public var parameters: [Parameter] { namedParameters().map(\.1) }

    public func namedBuffers(prefix: String = "") -> [(String, Tensor)] {
        var out = buffers.map { (prefix + $0.key, $0.value) }
        for (name, child) in children { out += child.namedBuffers(prefix: prefix + name + ".") }
        return out
    }

    /// Every module with its dotted path (the root has path "").
    public func namedModules(prefix: String = "") -> [(String, Module)] {
        var out = [(prefix, self)]
        for (name, child) in children {
            out += child.namedModules(prefix: prefix.isEmpty ? name : prefix + "." + name)
        }
        return out
    }

    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.count } }
    public var trainableParameterCount: Int { parameters.filter(\.requiresGrad).reduce(0) { $0 + $1.count } }

    // MARK: Modes

    /// Switches this module and its children to training (or evaluation) behaviour.
    public func train(_ on: Bool = true) {
        isTraining = on
        for child in children.values { child.train(on) }
    }

    public func eval() { train(false) }

    /// Marks every parameter trainable or frozen.
    public func setRequiresGrad(_ on: Bool) {
        for p in parameters { p.requiresGrad = on }
    }

    public func zeroGrad() {
        let ps = parameters
        if ParameterPacking.isPacked(ps), let first = ps.first {
            let g = first.grad.storage
            g.pointer.update(repeating: 0, count: g.count)
        } else {
            for p in ps { p.zeroGrad() }
        }
    }

    // MARK: Forward

    /// Single-input forward pass. Modules with other signatures (a DiT takes x, t, y)
    /// provide their own methods and leave this throwing.
    open func forward(_ x: Tensor) throws -> Tensor {
        throw TensorError(typeName, "this module does not take a single input tensor")
    }

    public func callAsFunction(_ x: Tensor) throws -> Tensor { try forward(x) }

    // MARK: State dict

    public func stateDict() -> StateDict {
        var d = StateDict()
        for (name, p) in namedParameters() { d[name] = p.value.detached() }
        for (name, b) in namedBuffers() { d[name] = b }
        return d
    }

    /// Loads parameter and buffer values by name. With `strict`, missing and unexpected
    /// keys are errors; a shape mismatch is always an error. All problems are listed.
    public func load(_ state: StateDict, strict: Bool = true) throws {
        let params = namedParameters(), bufs = namedBuffers()
        var expected = Set(params.map(\.0))
        expected.formUnion(bufs.map(\.0))
        var problems: [String] = []
        for (name, p) in params {
            guard let t = state[name] else { continue }
            if t.shape != p.shape { problems.append("\(name): checkpoint shape \(t.shape), model shape \(p.shape)") }
        }
        for (name, b) in bufs {
            guard let t = state[name] else { continue }
            if t.shape != b.shape { problems.append("\(name): checkpoint shape \(t.shape), model shape \(b.shape)") }
        }
        let missing = expected.subtracting(state.keys).sorted()
        let unexpected = Set(state.keys).subtracting(expected).sorted()
        if strict {
            if !missing.isEmpty { problems.append("missing keys: \(missing.joined(separator: ", "))") }
            if !unexpected.isEmpty { problems.append("unexpected keys: \(unexpected.joined(separator: ", "))") }
        }
        guard problems.isEmpty else {
            throw StateDictError(problems: problems)
        }
        for (name, p) in params { if let t = state[name] { try p.assign(t) } }
        for (name, b) in bufs { if let t = state[name] { try b.assign(t) } }
    }

    // MARK: Printing

    open var typeName: String { String(describing: type(of: self)) }

    /// Extra constructor arguments shown in the tree (e.g. `in=96, out=288`).
    open var extraDescription: String { "" }

    /// The module tree with parameter counts, as PyTorch prints a model.
    public var description: String { treeDescription(indent: "") }

    func treeDescription(indent: String) -> String {
        let extra = extraDescription.isEmpty ? "" : extraDescription
        let own = "\(typeName)(\(extra))"
        let count = parameterCount
        let countText = count > 0 ? "  [\(Module.formatCount(count)) params]" : ""
        if children.isEmpty { return own + countText }
        var lines = ["\(typeName)(\(extra)\(extra.isEmpty ? "" : ", ")\(Module.formatCount(count)) params"]
        for (name, child) in children {
            lines.append("\(indent)  (\(name)): " + child.treeDescription(indent: indent + "  "))
        }
        lines.append(indent + ")")
        return lines.joined(separator: "\n")
    }

    static func formatCount(_ n: Int) -> String {
        if n >= 1_000_000 { return String(format: "%.2fM", Double(n) / 1e6) }
        if n >= 10_000 { return String(format: "%.1fK", Double(n) / 1e3) }
        return String(n)
    }
}

/// Loading a state dict failed; every problem is listed.
public struct StateDictError: Error, CustomStringConvertible {
    public let problems: [String]
    public var description: String { "state dict does not match the model:\n  " + problems.joined(separator: "\n  ") }
}
