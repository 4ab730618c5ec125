/// Children applied one after another (`torch.nn.Sequential`), named "0", "1", ...
public final class Sequential: Module {
    public private(set) var layers: [Module] = []

    public init(_ layers: [Module] = []) {
        super.init()
        for l in layers { append(l) }
    }

    public func append(_ layer: Module) {
        register(String(layers.count), layer)
        layers.append(layer)
    }

    public override func forward(_ x: Tensor) throws -> Tensor {
        var h = x
        for l in layers { h = try l(h) }
        return h
    }
}

/// An indexable list of children (`torch.nn.ModuleList`), named "0", "1", ...
public final class ModuleList<Element: Module>: Module {
    public private(set) var items: [Element] = []

    public init(_ items: [Element] = []) {
        super.init()
        for m in items { append(m) }
    }

    public func append(_ module: Element) {
        register(String(items.count), module)
        items.append(module)
    }

    /// Replaces the whole list (growth operators rebuild depth this way).
    public func replaceAll(_ modules: [Element]) {
        for i in 0..<items.count { unregister(child: String(i)) }
        items = []
        for m in modules { append(m) }
    }

    public var count: Int { items.count }
    public subscript(i: Int) -> Element { items[i] }

    public override var typeName: String { "ModuleList" }
}

/// Returns its input (`torch.nn.Identity`).
public final class Identity: Module {
    public override func forward(_ x: Tensor) throws -> Tensor { x }
}
