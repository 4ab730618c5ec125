import AutoProg
import CLua
import Foundation

/// Tensors in Lua: creation (`ap.tensor`, `ap.zeros`, ...), methods with Torch7 names,
/// arithmetic metamethods, indexing and autograd.
///
/// Indexing is 1-based as in Torch7: dimensions (`t:size(1)`, `t:sum(2)`; negative
/// counts from the end, -1 = last), elements (`t[1]`), `narrow`'s start and the indices
/// `max`/`argmax` return.
extension LuaState {
    func installTensors(_ ap: Int32) {
        documentation["Tensor"] = "A float32 n-d array with autograd (print shows shape and statistics; t:totable() gives the data)."
        defineType(TensorBox.self, methods: tensorMethods, metamethods: tensorMetamethods,
                   getter: tensorGetter, tostring: { $0.tensor().description })
        register(tensorConstructors, in: ap, path: "ap")
    }

    // MARK: Construction

    private var tensorConstructors: [LuaBinding] {
        [
            LuaBinding("tensor", "ap.tensor(data[, shape][, {requires_grad=}]): a tensor from nested tables (shape inferred), a flat table with a shape, a number (0-d) or a tensor (copied).") { call in
                var t: Tensor
                var next: Int32 = 2
                switch call.type(1) {
                case LUA_TNUMBER:
                    t = Tensor(scalar: try call.float(1))
                case LUA_TUSERDATA:
                    t = try call.tensor(1).clone()
                case LUA_TTABLE:
                    let (values, shape) = try LuaState.nestedValues(call, 1)
                    t = try Tensor(values, shape: shape)
                default:
                    throw call.expected(1, "table, number or Tensor")
                }
                if call.type(2) == LUA_TTABLE, call.sequenceLength(2) > 0 {
                    t = try t.reshaped(try call.integers(ofTable: 2)).contiguous()
                    next = 3
                }
                call.push(try LuaState.applyCreationOptions(call, next, t, context: "ap.tensor"))
                return 1
            },
            LuaBinding("zeros", "ap.zeros(d1, d2, ... | {dims}[, {requires_grad=}]): a tensor of zeros.") { call in
                let (shape, next) = try call.dimensions(from: 1)
                call.push(try LuaState.applyCreationOptions(call, next, Tensor.zeros(shape), context: "ap.zeros"))
                return 1
            },
            LuaBinding("ones", "ap.ones(d1, d2, ... | {dims}[, {requires_grad=}]): a tensor of ones.") { call in
                let (shape, next) = try call.dimensions(from: 1)
                call.push(try LuaState.applyCreationOptions(call, next, Tensor.ones(shape), context: "ap.ones"))
                return 1
            },
            LuaBinding("full", "ap.full({dims}, value[, {requires_grad=}]) or ap.full(d1, ..., value): a tensor filled with value.") { call in
                var shape: [Int] = []
                var valueIndex: Int32 = 2
                if call.type(1) == LUA_TTABLE {
                    shape = try call.integers(ofTable: 1)
                } else {
                    // ap.full(d1, ..., dn, value): every number but the last is a dimension.
                    var last: Int32 = 1
                    while call.type(last + 1) == LUA_TNUMBER { last += 1 }
                    for i in stride(from: Int32(1), to: last, by: 1) {
                        let d = try call.integer(i)
                        guard d >= 0 else { throw call.argumentError(i, "negative dimension \(d)") }
                        shape.append(d)
                    }
                    valueIndex = last
                }
                let value = try call.float(valueIndex)
                call.push(try LuaState.applyCreationOptions(call, valueIndex + 1, Tensor.full(shape, value), context: "ap.full"))
                return 1
            },
            LuaBinding("randn", "ap.randn(d1, d2, ... | {dims}[, {requires_grad=}]): samples of N(0, 1) (seeded by ap.manual_seed).") { call in
                let (shape, next) = try call.dimensions(from: 1)
                call.push(try LuaState.applyCreationOptions(call, next, Tensor.randn(shape), context: "ap.randn"))
                return 1
            },
            LuaBinding("rand", "ap.rand(d1, d2, ... | {dims}[, {requires_grad=}]): samples of U(0, 1).") { call in
                let (shape, next) = try call.dimensions(from: 1)
                call.push(try LuaState.applyCreationOptions(call, next, Tensor.rand(shape), context: "ap.rand"))
                return 1
            },
            LuaBinding("arange", "ap.arange([start,] stop[, step]): start, start+step, ... below stop (torch.arange; values, not indices, so 0-based).") { call in
                var start = 0.0, stop: Double, step = 1.0
                if call.isNoneOrNil(2) {
                    stop = try call.number(1)
                } else {
                    start = try call.number(1)
                    stop = try call.number(2)
                    step = try call.number(3, default: 1)
                }
                guard step != 0, step.isFinite, start.isFinite, stop.isFinite else {
                    throw LuaBindingError("arange: step must be non-zero and bounds finite (start \(start), stop \(stop), step \(step))")
                }
                let n = max(0, Int(((stop - start) / step).rounded(.up)))
                guard n <= 1 << 31 else { throw LuaBindingError("arange: \(n) elements is too many") }
                call.push(try Tensor((0..<n).map { Float(start + Double($0) * step) }, shape: [n]))
                return 1
            },
            LuaBinding("cat", "ap.cat({t1, t2, ...}[, dim=1]): tensors joined along dim (torch.cat).") { call in
                let tensors = try LuaState.tensorList(call, 1)
                guard let first = tensors.first else { throw call.argumentError(1, "empty list of tensors") }
                let axis = try call.axis(2, rank: first.rank, default: 1)
                call.push(try Tensor.concatenated(tensors, axis: axis))
                return 1
            },
            LuaBinding("stack", "ap.stack({t1, t2, ...}[, dim=1]): same-shaped tensors stacked along a new dim (torch.stack).") { call in
                let tensors = try LuaState.tensorList(call, 1)
                guard let first = tensors.first else { throw call.argumentError(1, "empty list of tensors") }
                let axis = try call.axis(2, rank: first.rank + 1, default: 1)
                call.push(try Tensor.concatenated(tensors.map { try $0.unsqueezed(axis) }, axis: axis))
                return 1
            },
        ]
    }

    /// Applies `{requires_grad = true}` at argument `i`, if given.
    static func applyCreationOptions(_ call: LuaCall, _ i: Int32, _ t: Tensor, context: String) throws -> Tensor {
        let options = try LuaOptions(call, i, valid: ["requires_grad"], context: context)
        return try options.boolean("requires_grad") == true ? t.requiringGrad() : t
    }

    /// The numbers of a nested table in row-major order, and its shape.
    static func nestedValues(_ call: LuaCall, _ i: Int32) throws -> ([Float], [Int]) {
        let L = call.L
        let root = lua_absindex(L, i)
        // The shape follows the first element at each depth.
        var shape: [Int] = []
        lua_pushvalue(L, root)
        var pushed: Int32 = 1
        while true {
            let n = Int(lua_rawlen(L, -1))
            shape.append(n)
            if n == 0 { break }
            lua_rawgeti(L, -1, 1)
            pushed += 1
            if lua_type(L, -1) == LUA_TNUMBER { break }
            guard lua_type(L, -1) == LUA_TTABLE else {
                let found = LuaCall.typeName(L, -1)
                lua_settop(L, -pushed - 1)
                throw LuaBindingError("ap.tensor: elements must be numbers or tables of numbers, found a \(found)")
            }
        }
        lua_settop(L, -pushed - 1)
        var values: [Float] = []
        values.reserveCapacity(shape.reduce(1, *))
        func fill(_ t: Int32, depth: Int, path: [Int]) throws {
            let n = Int(lua_rawlen(L, t))
            guard n == shape[depth] else {
                let at = path.isEmpty ? "the outer table" : "element " + path.map(String.init).joined(separator: ",")
                throw LuaBindingError("ap.tensor: ragged nested table: \(at) has \(n) entries, expected \(shape[depth]) (shape \(shape))")
            }
            for k in stride(from: 1, through: n, by: 1) {
                lua_rawgeti(L, t, lua_Integer(k))
                defer { lua_settop(L, -2) }
                if depth == shape.count - 1 {
                    guard lua_type(L, -1) == LUA_TNUMBER else {
                        throw LuaBindingError("ap.tensor: element \((path + [k]).map(String.init).joined(separator: ",")) is a \(LuaCall.typeName(L, -1)), expected a number (shape \(shape))")
                    }
                    values.append(Float(lua_tonumberx(L, -1, nil)))
                } else {
                    guard lua_type(L, -1) == LUA_TTABLE else {
                        throw LuaBindingError("ap.tensor: ragged nested table: element \((path + [k]).map(String.init).joined(separator: ",")) is a \(LuaCall.typeName(L, -1)), expected a table (shape \(shape))")
                    }
                    try fill(lua_gettop(L), depth: depth + 1, path: path + [k])
                }
            }
        }
        try fill(root, depth: 0, path: [])
        return (values, shape)
    }

    /// The tensors of a sequence table.
    static func tensorList(_ call: LuaCall, _ i: Int32) throws -> [Tensor] {
        try call.table(i)
        var out: [Tensor] = []
        try call.forEachElement(ofTable: i) { k in
            guard let box = LuaHost.object(call.L, -1, TensorBox.self) else {
                throw call.argumentError(i, "element \(k + 1) is a \(LuaCall.typeName(call.L, -1)), expected a Tensor")
            }
            out.append(box.tensor())
        }
        return out
    }

    // MARK: Methods

    private var tensorMethods: [LuaBinding] {
        [
            LuaBinding("size", "t:size([dim]): the shape as a table, or the size of one dim (1-based).") { call in
                let t = try call.tensor(1)
                if call.isNoneOrNil(2) {
                    call.push(integers: t.shape)
                } else {
                    call.push(t.shape[try call.axis(2, rank: t.rank)])
                }
                return 1
            },
            LuaBinding("dim", "t:dim(): the number of dimensions.") { call in
                call.push(try call.tensor(1).rank)
                return 1
            },
            LuaBinding("numel", "t:numel(): the number of elements.") { call in
                call.push(try call.tensor(1).count)
                return 1
            },
            LuaBinding("nElement", "t:nElement(): the number of elements (Torch7 name of numel).") { call in
                call.push(try call.tensor(1).count)
                return 1
            },
            LuaBinding("view", "t:view(d1, d2, ... | {dims}): the same elements in a new shape (one dim may be -1).") { call in
                call.push(try call.tensor(1).reshaped(try call.dimensions(from: 2, negativeAllowed: true).shape))
                return 1
            },
            LuaBinding("reshape", "t:reshape(d1, d2, ... | {dims}): as view (copies when the layout requires).") { call in
                call.push(try call.tensor(1).reshaped(try call.dimensions(from: 2, negativeAllowed: true).shape))
                return 1
            },
            LuaBinding("permute", "t:permute(d1, d2, ...): dims reordered (1-based), a view.") { call in
                let t = try call.tensor(1)
                let dims = try call.dimensions(from: 2, negativeAllowed: true).shape
                call.push(try t.permuted(try dims.map { try call.axis(value: $0, rank: t.rank, position: 2) }))
                return 1
            },
            LuaBinding("transpose", "t:transpose(d1, d2): two dims swapped (1-based), a view.") { call in
                let t = try call.tensor(1)
                call.push(try t.transposed(try call.axis(2, rank: t.rank), try call.axis(3, rank: t.rank)))
                return 1
            },
            LuaBinding("t", "t:t(): the transpose of a 2-d tensor.") { call in
                let t = try call.tensor(1)
                guard t.rank == 2 else { throw LuaBindingError("t: expected a 2-d tensor, got shape \(t.shape)") }
                call.push(try t.transposed(0, 1))
                return 1
            },
            LuaBinding("narrow", "t:narrow(dim, start, length): elements start..start+length-1 along dim (1-based), a view.") { call in
                let t = try call.tensor(1)
                let a = try call.axis(2, rank: t.rank)
                let start = try call.integer(3), length = try call.integer(4)
                guard start >= 1, length >= 0, start - 1 + length <= t.shape[a] else {
                    throw LuaBindingError("narrow: start \(start), length \(length) is out of range for dim \(a + 1) of size \(t.shape[a]) (shape \(t.shape); start is 1-based)")
                }
                call.push(try t.sliced(axis: a, (start - 1)..<(start - 1 + length)))
                return 1
            },
            LuaBinding("select", "t:select(dim, index): the slice at index along dim, with dim removed (1-based).") { call in
                let t = try call.tensor(1)
                let a = try call.axis(2, rank: t.rank)
                let i = try LuaState.elementIndex(try call.integer(3), size: t.shape[a], shape: t.shape)
                call.push(try t.sliced(axis: a, i..<(i + 1)).squeezed(a))
                return 1
            },
            LuaBinding("squeeze", "t:squeeze([dim]): size-1 dims removed (all, or just dim).") { call in
                let t = try call.tensor(1)
                if call.isNoneOrNil(2) {
                    call.push(try t.reshaped(t.shape.filter { $0 != 1 }))
                } else {
                    call.push(try t.squeezed(try call.axis(2, rank: t.rank)))
                }
                return 1
            },
            LuaBinding("unsqueeze", "t:unsqueeze(dim): a size-1 dim inserted at position dim (1..rank+1; -1 = last).") { call in
                let t = try call.tensor(1)
                call.push(try t.unsqueezed(try call.axis(2, rank: t.rank + 1)))
                return 1
            },
            LuaBinding("flatten", "t:flatten([start=1[, end=-1]]): dims start..end merged into one.") { call in
                let t = try call.tensor(1)
                if t.rank == 0 {
                    call.push(try t.flattened())
                } else {
                    call.push(try t.flattened(from: try call.axis(2, rank: t.rank, default: 1),
                                              through: try call.axis(3, rank: t.rank, default: -1)))
                }
                return 1
            },
            LuaBinding("sum", "t:sum([dim[, keepdim]]): sum of all elements (a 0-d tensor) or along dim.") { call in
                let t = try call.tensor(1)
                if call.isNoneOrNil(2) {
                    call.push(t.sum())
                } else {
                    call.push(try t.sum(axes: [try call.axis(2, rank: t.rank)], keepingDims: try call.boolean(3, default: false)))
                }
                return 1
            },
            LuaBinding("mean", "t:mean([dim[, keepdim]]): mean of all elements (a 0-d tensor) or along dim.") { call in
                let t = try call.tensor(1)
                if call.isNoneOrNil(2) {
                    call.push(t.mean())
                } else {
                    call.push(try t.mean(axes: [try call.axis(2, rank: t.rank)], keepingDims: try call.boolean(3, default: false)))
                }
                return 1
            },
            LuaBinding("var", "t:var([dim[, keepdim]]): unbiased variance of all elements or along dim.") { call in
                let t = try call.tensor(1)
                let axes = call.isNoneOrNil(2) ? Array(0..<t.rank) : [try call.axis(2, rank: t.rank)]
                call.push(try t.variance(axes: axes, keepingDims: try call.boolean(3, default: false)))
                return 1
            },
            LuaBinding("max", "t:max([dim[, keepdim]]): the maximum (0-d tensor), or values and 1-based indices along dim.") { call in
                let t = try call.tensor(1)
                if call.isNoneOrNil(2) {
                    guard t.count > 0 else { throw LuaBindingError("max: tensor of shape \(t.shape) is empty") }
                    call.push(try t.reshaped([-1]).max(axis: 0))
                    return 1
                }
                let a = try call.axis(2, rank: t.rank)
                let keep = try call.boolean(3, default: false)
                let values = try t.max(axis: a, keepingDims: keep)
                let indices = try t.argmax(axis: a).map { Float($0 + 1) }
                call.push(values)
                call.push(try Tensor(indices, shape: values.shape))
                return 2
            },
            LuaBinding("argmax", "t:argmax([dim]): 1-based positions of the maxima along dim (a tensor), or of the overall maximum (a number).") { call in
                let t = try call.tensor(1)
                if call.isNoneOrNil(2) {
                    guard t.count > 0 else { throw LuaBindingError("argmax: tensor of shape \(t.shape) is empty") }
                    call.push(try t.reshaped([-1]).argmax(axis: 0)[0] + 1)
                    return 1
                }
                let a = try call.axis(2, rank: t.rank)
                var shape = t.shape
                shape.remove(at: a)
                call.push(try Tensor(try t.argmax(axis: a).map { Float($0 + 1) }, shape: shape))
                return 1
            },
            LuaBinding("exp", "t:exp(): e^t elementwise.") { call in call.push(try call.tensor(1).exp()); return 1 },
            LuaBinding("log", "t:log(): natural logarithm elementwise.") { call in call.push(try call.tensor(1).log()); return 1 },
            LuaBinding("sqrt", "t:sqrt(): square root elementwise.") { call in call.push(try call.tensor(1).sqrt()); return 1 },
            LuaBinding("abs", "t:abs(): absolute value elementwise.") { call in call.push(try call.tensor(1).abs()); return 1 },
            LuaBinding("pow", "t:pow(p): t^p elementwise (p a number; also t ^ p).") { call in
                call.push(try call.tensor(1).pow(try call.float(2)))
                return 1
            },
            LuaBinding("clamp", "t:clamp(lo, hi): values limited to [lo, hi]; either bound may be nil.") { call in
                let t = try call.tensor(1)
                let lo: Float? = call.isNoneOrNil(2) ? nil : try call.float(2)
                let hi: Float? = call.isNoneOrNil(3) ? nil : try call.float(3)
                call.push(try t.clamped(min: lo, max: hi))
                return 1
            },
            LuaBinding("matmul", "t:matmul(u): matrix product (batched, torch.matmul).") { call in
                call.push(try matmul(try call.tensor(1), try call.tensor(2)))
                return 1
            },
            LuaBinding("softmax", "t:softmax([dim=-1]): softmax along dim.") { call in
                let t = try call.tensor(1)
                call.push(try softmax(t, axis: try call.axis(2, rank: t.rank, default: -1)))
                return 1
            },
            LuaBinding("log_softmax", "t:log_softmax([dim=-1]): log-softmax along dim.") { call in
                let t = try call.tensor(1)
                call.push(try logSoftmax(t, axis: try call.axis(2, rank: t.rank, default: -1)))
                return 1
            },
            LuaBinding("item", "t:item(): the value of a one-element tensor as a number.") { call in
                call.push(Double(try call.tensor(1).item()))
                return 1
            },
            LuaBinding("totable", "t:totable(): the data as nested tables (a number for a 0-d tensor).") { call in
                let t = try call.tensor(1)
                LuaState.pushNested(call, t.toArray(), shape: t.shape)
                return 1
            },
            LuaBinding("clone", "t:clone(): a copy with its own storage and no gradient history.") { call in
                call.push(try call.tensor(1).clone())
                return 1
            },
            LuaBinding("detach", "t:detach(): the same data without gradient history.") { call in
                call.push(try call.tensor(1).detached())
                return 1
            },
            LuaBinding("contiguous", "t:contiguous(): a densely laid out tensor (itself when already dense).") { call in
                call.push(try call.tensor(1).contiguous())
                return 1
            },
            LuaBinding("fill", "t:fill(v): sets every element to v in place (no autograd); returns t.") { call in
                let t = try call.tensor(1)
                try t.assign(Tensor.full(t.shape, try call.float(2)))
                call.pushValue(1)
                return 1
            },
            LuaBinding("zero", "t:zero(): sets every element to 0 in place; returns t.") { call in
                let t = try call.tensor(1)
                try t.assign(Tensor.zeros(t.shape))
                call.pushValue(1)
                return 1
            },
            LuaBinding("copy", "t:copy(src): copies src's values (broadcast to t's shape) into t in place; returns t.") { call in
                let t = try call.tensor(1), source = try call.tensor(2)
                try t.assign(source.shape == t.shape ? source : try source.expanded(to: t.shape))
                call.pushValue(1)
                return 1
            },
            LuaBinding("backward", "y:backward([grad]): back-propagates; grad defaults to 1 for a one-element y. Leaf .grad accumulates.") { call in
                try call.tensor(1).backward(gradient: try call.optionalTensor(2))
                return 0
            },
            LuaBinding("requires_grad_", "t:requires_grad_([flag=true]): makes t an autograd leaf (or detaches it) in place; returns t. t:requires_grad() is the same.") { call in
                let box = try call.object(1, TensorBox.self)
                try LuaState.setRequiresGrad(box, try call.boolean(2, default: true))
                call.pushValue(1)
                return 1
            },
            LuaBinding("zero_grad", "t:zero_grad(): clears an autograd leaf's accumulated .grad.") { call in
                let box = try call.object(1, TensorBox.self)
                switch box.source {
                case .parameter(let p): p.zeroGrad()
                case .value(let t): if t.grad != nil { box.source = .value(t.detached().requiringGrad()) }
                }
                return 0
            },
        ]
    }

    static func setRequiresGrad(_ box: TensorBox, _ flag: Bool) throws {
        switch box.source {
        case .parameter(let p):
            p.requiresGrad = flag
        case .value(let t):
            if flag {
                if !t.requiresGrad { box.source = .value(t.requiringGrad()) }
            } else {
                box.source = .value(t.detached())
            }
        }
    }

    /// Pushes `values` as nested tables of `shape` (a number for a 0-d tensor).
    static func pushNested(_ call: LuaCall, _ values: [Float], shape: [Int]) {
        let L = call.L
        if shape.isEmpty {
            lua_pushnumber(L, Double(values[0]))
            return
        }
        var position = 0
        func build(_ depth: Int) {
            let n = shape[depth]
            lua_createtable(L, Int32(n), 0)
            for k in 0..<n {
                if depth == shape.count - 1 {
                    lua_pushnumber(L, Double(values[position]))
                    position += 1
                } else {
                    build(depth + 1)
                }
                lua_rawseti(L, -2, lua_Integer(k + 1))
            }
        }
        build(0)
    }

    /// A 1-based (or negative, from the end) element index as 0-based.
    static func elementIndex(_ i: Int, size: Int, shape: [Int]) throws -> Int {
        let resolved = i < 0 ? size + i : i - 1
        guard i != 0, resolved >= 0, resolved < size else {
            throw LuaBindingError("index \(i) is out of range for a dimension of size \(size) (shape \(shape); indices are 1-based)")
        }
        return resolved
    }

    // MARK: Metamethods, properties, indexing

    private var tensorMetamethods: [LuaBinding] {
        func arithmetic(_ name: String, _ op: @escaping (Tensor, Tensor) throws -> Tensor) -> LuaBinding {
            LuaBinding(name, "") { call in
                call.push(try op(try call.tensorOrNumber(1), try call.tensorOrNumber(2)))
                return 1
            }
        }
        return [
            arithmetic("__add", +), arithmetic("__sub", -), arithmetic("__mul", *), arithmetic("__div", /),
            LuaBinding("__unm", "") { call in call.push(-(try call.tensor(1))); return 1 },
            LuaBinding("__pow", "") { call in
                guard call.type(2) == LUA_TNUMBER else { throw LuaBindingError("pow: the exponent must be a number (t ^ p)") }
                call.push(try call.tensor(1).pow(try call.float(2)))
                return 1
            },
            LuaBinding("__len", "") { call in
                let t = try call.tensor(1)
                call.push(t.rank == 0 ? 0 : t.shape[0])
                return 1
            },
            // Identity: the same parameter, or the same view of the same storage with the
            // same autograd node (t == t:detach() is false, as `is` in PyTorch).
            LuaBinding("__eq", "") { call in
                guard let a = LuaHost.object(call.L, 1, TensorBox.self), let b = LuaHost.object(call.L, 2, TensorBox.self) else {
                    call.push(false)
                    return 1
                }
                if let pa = a.parameter, let pb = b.parameter {
                    call.push(pa === pb)
                } else {
                    let x = a.tensor(), y = b.tensor()
                    call.push(x.storage === y.storage && x.offset == y.offset && x.shape == y.shape
                              && x.strides == y.strides && x.gradNode === y.gradNode)
                }
                return 1
            },
            LuaBinding("__newindex", "") { call in
                let box = try call.object(1, TensorBox.self)
                if call.type(2) == LUA_TSTRING {
                    let key = try call.string(2)
                    switch key {
                    case "requires_grad":
                        try LuaState.setRequiresGrad(box, try call.boolean(3))
                    case "grad" where call.isNoneOrNil(3):
                        if case .value(let t) = box.source, t.grad != nil { box.source = .value(t.detached().requiringGrad()) }
                        if let p = box.parameter { p.zeroGrad() }
                    default:
                        throw LuaBindingError("cannot set field '\(key)' of a Tensor (settable: requires_grad, grad = nil)")
                    }
                    return 0
                }
                let t = box.tensor()
                guard t.rank > 0 else { throw LuaBindingError("cannot index a 0-d tensor") }
                let i = try LuaState.elementIndex(try call.integer(2), size: t.shape[0], shape: t.shape)
                let row = Tensor(storage: t.storage, offset: t.offset + i * t.strides[0],
                                 shape: Array(t.shape.dropFirst()), strides: Array(t.strides.dropFirst()))
                if call.type(3) == LUA_TNUMBER {
                    try row.assign(Tensor.full(row.shape, try call.float(3)))
                } else {
                    let source = try call.tensor(3)
                    try row.assign(source.shape == row.shape ? source : try source.expanded(to: row.shape))
                }
                return 0
            },
        ]
    }

    /// `t.grad`, `t.requires_grad`, `t.is_leaf`, `t.shape`, and `t[i]` (select along dim 1;
    /// a number for a 1-d tensor).
    private var tensorGetter: (LuaCall) throws -> Int {
        { call in
            let box = try call.object(1, TensorBox.self)
            if call.type(2) == LUA_TNUMBER {
                let t = box.tensor()
                guard t.rank > 0 else { throw LuaBindingError("cannot index a 0-d tensor") }
                let i = try LuaState.elementIndex(try call.integer(2), size: t.shape[0], shape: t.shape)
                if t.rank == 1 {
                    call.push(Double(t.storage.pointer[t.offset + i * t.strides[0]]))
                } else {
                    call.push(try t.sliced(axis: 0, i..<(i + 1)).squeezed(0))
                }
                return 1
            }
            guard call.type(2) == LUA_TSTRING else { return 0 }
            switch try call.string(2) {
            case "grad":
                if let g = box.grad { call.push(g) } else { call.pushNil() }
            case "requires_grad":
                call.push(box.tensor().requiresGrad)
            case "is_leaf":
                call.push(box.tensor().gradNode?.isLeaf ?? true)
            case "shape":
                call.push(integers: box.tensor().shape)
            default:
                call.pushNil()
            }
            return 1
        }
    }
}

extension LuaCall {
    /// Argument `i` as a 0-based axis: a 1-based dim, or negative from the end (-1 = last).
    func axis(_ i: Int32, rank: Int) throws -> Int {
        try axis(value: try integer(i), rank: rank, position: i)
    }

    func axis(_ i: Int32, rank: Int, default value: Int) throws -> Int {
        try axis(value: isNoneOrNil(i) ? value : try integer(i), rank: rank, position: i)
    }

    func axis(value d: Int, rank: Int, position: Int32) throws -> Int {
        let a = d < 0 ? rank + d : d - 1
        guard d != 0, a >= 0, a < rank else {
            throw argumentError(position, "dim \(d) is out of range for \(rank) dims (dims are 1-based; -1 is the last)")
        }
        return a
    }
}
