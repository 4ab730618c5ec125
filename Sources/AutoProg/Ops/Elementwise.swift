import CKernels

// Broadcasting arithmetic (`torch.add/sub/mul/div` with NumPy broadcasting) and the
// strided machinery it runs on. Operands are read in place through their strides
// (views, transposes and stride-0 broadcasts cost no copy); results are dense.

/// The shape two operands broadcast to under NumPy rules (`torch.broadcast_shapes`):
/// shapes are aligned at their trailing axes, and each pair of sizes must be equal or
/// contain a 1.
public func broadcastShape(_ a: [Int], _ b: [Int]) throws -> [Int] {
    try broadcastShape(a, b, op: "broadcast")
}

func broadcastShape(_ a: [Int], _ b: [Int], op: String) throws -> [Int] {
    if a == b { return a }
    let rank = Swift.max(a.count, b.count)
    var out = [Int](repeating: 1, count: rank)
    for i in 0..<rank {
        let da = i < rank - a.count ? 1 : a[i - (rank - a.count)]
        let db = i < rank - b.count ? 1 : b[i - (rank - b.count)]
        guard da == db || da == 1 || db == 1 else {
            throw TensorError.shapes(op, a, b, "cannot be broadcast together (axis \(i) of the result: \(da) vs \(db))")
        }
        out[i] = da == 1 ? db : da
    }
    return out
}

/// Strides that read `t` as if broadcast to `shape` (0 along broadcast axes).
func broadcastStrides(_ t: Tensor, to shape: [Int]) -> [Int] {
    let lead = shape.count - t.rank
    var s = [Int](repeating: 0, count: shape.count)
    for i in 0..<t.rank where t.shape[i] != 1 { s[lead + i] = t.strides[i] }
    return s
}

/// Kernel codes of `ck_binary`.
enum BinaryKernel {
    static let add = Int32(CK_ADD), subtract = Int32(CK_SUB), multiply = Int32(CK_MUL), divide = Int32(CK_DIV)
    static let copy = Int32(CK_COPY)
}

/// The dense result of `a op b` with both operands read as broadcast to `shape`
/// (which the caller has validated). No autodiff recording.
///
/// Axes of size 1 are dropped and neighbouring axes merged wherever both operands stay
/// evenly strided, so a same-shape op becomes one flat loop, `[..., C] op [C]` becomes
/// rows against one vector and `[N, C] op [N, 1]` rows against one scalar each; any
/// other layout walks the outer axes with an odometer around a C inner loop.
func broadcastApply(_ op: Int32, _ a: Tensor, _ b: Tensor, shape: [Int]) -> Tensor {
    let out = Tensor(uninitializedShape: shape)
    let n = out.count
    if n == 0 { return out }
    let sa = broadcastStrides(a, to: shape), sb = broadcastStrides(b, to: shape)
    var sizes: [Int] = [], stridesA: [Int] = [], stridesB: [Int] = []
    for d in 0..<shape.count where shape[d] != 1 {
        if let last = sizes.indices.last,
           stridesA[last] == sa[d] * shape[d], stridesB[last] == sb[d] * shape[d] {
            sizes[last] *= shape[d]
            stridesA[last] = sa[d]
            stridesB[last] = sb[d]
        } else {
            sizes.append(shape[d])
            stridesA.append(sa[d])
            stridesB.append(sb[d])
        }
    }
    if sizes.isEmpty { (sizes, stridesA, stridesB) = ([1], [0], [0]) }
    let pa = a.pointer, pb = b.pointer, po = out.pointer
    let inner = sizes.removeLast(), ia = stridesA.removeLast(), ib = stridesB.removeLast()
    let rows = n / inner
    if rows == 1 {
        Parallel.forRanges(inner, minChunk: 1 << 15) { r in
            let s = r.lowerBound
            ck_binary(op, pa + s * ia, ia, pb + s * ib, ib, po + s, r.count)
        }
        return out
    }
    let outer = sizes.count
    Parallel.forRanges(rows, minChunk: Swift.max(1, (1 << 15) / inner)) { r in
        // Odometer over the outer axes, started at this range's first row.
        var index = [Int](repeating: 0, count: outer)
        var oa = 0, ob = 0, rest = r.lowerBound
        for d in stride(from: outer - 1, through: 0, by: -1) {
            index[d] = rest % sizes[d]
            rest /= sizes[d]
            oa += index[d] * stridesA[d]
            ob += index[d] * stridesB[d]
        }
        for row in r {
            ck_binary(op, pa + oa, ia, pb + ob, ib, po + row * inner, inner)
            var d = outer - 1
            while d >= 0 {
                index[d] += 1
                oa += stridesA[d]
                ob += stridesB[d]
                if index[d] < sizes[d] { break }
                oa -= stridesA[d] * sizes[d]
                ob -= stridesB[d] * sizes[d]
                index[d] = 0
                d -= 1
            }
        }
    }
    return out
}

/// A dense copy of any view (stride-0 broadcasts included), using the strided kernels.
func denseCopy(_ t: Tensor) -> Tensor {
    broadcastApply(BinaryKernel.copy, t, t, shape: t.shape)
}

/// A dense tensor with `t`'s values times `s`.
func scaled(_ t: Tensor, by s: Float) -> Tensor {
    broadcastApply(BinaryKernel.multiply, t, Tensor(scalar: s), shape: t.shape)
}

/// The four arithmetic operators with their autodiff rules.
private enum Arithmetic {
    case add, subtract, multiply, divide

    var name: String {
        switch self {
        case .add: "add"
        case .subtract: "sub"
        case .multiply: "mul"
        case .divide: "div"
        }
    }

    var kernel: Int32 {
        switch self {
        case .add: BinaryKernel.add
        case .subtract: BinaryKernel.subtract
        case .multiply: BinaryKernel.multiply
        case .divide: BinaryKernel.divide
        }
    }

    /// `a op b` with broadcasting. The backward computes each needed gradient at the
    /// broadcast shape and sums it back over the axes that input was broadcast along.
    func apply(_ a: Tensor, _ b: Tensor) throws -> Tensor {
        let shape = try broadcastShape(a.shape, b.shape, op: name)
        let out = broadcastApply(kernel, a, b, shape: shape)
        let needA = a.requiresGrad, needB = b.requiresGrad
        guard needA || needB else { return out }
        let aShape = a.shape, bShape = b.shape
        switch self {
        case .add:
            return out.recorded(name, inputs: [a, b]) { g in
                [needA ? summed(g, toShape: aShape) : nil, needB ? summed(g, toShape: bShape) : nil]
            }
        case .subtract:
            return out.recorded(name, inputs: [a, b]) { g in
                [needA ? summed(g, toShape: aShape) : nil, needB ? scaled(summed(g, toShape: bShape), by: -1) : nil]
            }
        case .multiply:
            // Each factor is kept only when the other one's gradient needs it.
            let aSaved = needB ? a.detached() : nil, bSaved = needA ? b.detached() : nil
            return out.recorded(name, inputs: [a, b]) { g in
                let ga = bSaved.map { summed(broadcastApply(BinaryKernel.multiply, g, $0, shape: shape), toShape: aShape) }
                let gb = aSaved.map { summed(broadcastApply(BinaryKernel.multiply, g, $0, shape: shape), toShape: bShape) }
                return [ga, gb]
            }
        case .divide:
            // d(a/b)/da = 1/b and d(a/b)/db = −(a/b)/b: both start from t = g/b.
            let bSaved = b.detached(), quotient = needB ? out : nil
            return out.recorded(name, inputs: [a, b]) { g in
                let t = broadcastApply(BinaryKernel.divide, g, bSaved, shape: shape)
                let ga = needA ? summed(t, toShape: aShape) : nil
                let gb = quotient.map { q in
                    scaled(summed(broadcastApply(BinaryKernel.multiply, t, q, shape: shape), toShape: bShape), by: -1)
                }
                return [ga, gb]
            }
        }
    }
}

extension Tensor {
    /// Elementwise sum with broadcasting (`torch.add`).
    public static func + (lhs: Tensor, rhs: Tensor) throws -> Tensor { try Arithmetic.add.apply(lhs, rhs) }
    /// Elementwise difference with broadcasting (`torch.sub`).
    public static func - (lhs: Tensor, rhs: Tensor) throws -> Tensor { try Arithmetic.subtract.apply(lhs, rhs) }
    /// Elementwise product with broadcasting (`torch.mul`).
    public static func * (lhs: Tensor, rhs: Tensor) throws -> Tensor { try Arithmetic.multiply.apply(lhs, rhs) }
    /// Elementwise quotient with broadcasting (`torch.div`, true division).
    public static func / (lhs: Tensor, rhs: Tensor) throws -> Tensor { try Arithmetic.divide.apply(lhs, rhs) }

    // A scalar operand is a 0-d constant: it broadcasts everywhere and never needs a gradient.
    public static func + (lhs: Tensor, rhs: Float) throws -> Tensor { try lhs + Tensor(scalar: rhs) }
    public static func - (lhs: Tensor, rhs: Float) throws -> Tensor { try lhs - Tensor(scalar: rhs) }
    public static func * (lhs: Tensor, rhs: Float) throws -> Tensor { try lhs * Tensor(scalar: rhs) }
    public static func / (lhs: Tensor, rhs: Float) throws -> Tensor { try lhs / Tensor(scalar: rhs) }
    public static func + (lhs: Float, rhs: Tensor) throws -> Tensor { try Tensor(scalar: lhs) + rhs }
    public static func - (lhs: Float, rhs: Tensor) throws -> Tensor { try Tensor(scalar: lhs) - rhs }
    public static func * (lhs: Float, rhs: Tensor) throws -> Tensor { try Tensor(scalar: lhs) * rhs }
    public static func / (lhs: Float, rhs: Tensor) throws -> Tensor { try Tensor(scalar: lhs) / rhs }

    /// Elementwise negation (`torch.neg`); cannot fail, so it does not throw.
    public static prefix func - (x: Tensor) -> Tensor {
        let out = scaled(x, by: -1)
        return out.recorded("neg", inputs: [x]) { g in [scaled(g, by: -1)] }
    }
}

// MARK: Unary elementwise functions

/// Runs a dense kernel over `x` (made contiguous once), split across threads when large.
private func mapDense(_ x: Tensor, _ kernel: (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void) -> Tensor {
    let src = x.contiguous()
    let out = Tensor(uninitializedShape: x.shape)
    let ps = src.pointer, po = out.pointer
    Parallel.forRanges(out.count, minChunk: 1 << 15) { r in kernel(ps + r.lowerBound, po + r.lowerBound, r.count) }
    return out
}

/// Runs a dense two-input kernel over same-shape tensors (a backward's g and a saved tensor).
private func zipDense(_ a: Tensor, _ b: Tensor,
                      _ kernel: (UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void) -> Tensor {
    let ac = a.contiguous(), bc = b.contiguous()
    let out = Tensor(uninitializedShape: a.shape)
    let pa = ac.pointer, pb = bc.pointer, po = out.pointer
    Parallel.forRanges(out.count, minChunk: 1 << 15) { r in
        let s = r.lowerBound
        kernel(pa + s, pb + s, po + s, r.count)
    }
    return out
}

extension Tensor {
    /// eˣ elementwise (`torch.exp`); the backward reuses the output: d eˣ = eˣ.
    public func exp() -> Tensor {
        let out = mapDense(self) { ck_exp($0, $1, $2) }
        let y = out
        return out.recorded("exp", inputs: [self]) { g in [zipDense(g, y) { ck_mul_scaled($0, $1, 1, $2, $3) }] }
    }

    /// Natural logarithm elementwise (`torch.log`): −inf at 0, NaN below.
    public func log() -> Tensor {
        let out = mapDense(self) { ck_log($0, $1, $2) }
        let x = detached()
        return out.recorded("log", inputs: [self]) { g in [zipDense(g, x) { ck_div_scaled($0, $1, 1, $2, $3) }] }
    }

    /// Square root elementwise (`torch.sqrt`); the backward is g / (2√x) from the output.
    public func sqrt() -> Tensor {
        let out = mapDense(self) { ck_sqrt($0, $1, $2) }
        let y = out
        return out.recorded("sqrt", inputs: [self]) { g in [zipDense(g, y) { ck_div_scaled($0, $1, 0.5, $2, $3) }] }
    }

    /// x² elementwise (`torch.square`).
    public func squared() -> Tensor {
        let out = mapDense(self) { ck_square($0, $1, $2) }
        let x = detached()
        return out.recorded("square", inputs: [self]) { g in [zipDense(g, x) { ck_mul_scaled($0, $1, 2, $2, $3) }] }
    }

    /// |x| elementwise (`torch.abs`); the gradient at 0 is 0, as in PyTorch.
    public func abs() -> Tensor {
        let out = mapDense(self) { ck_abs($0, $1, $2) }
        let x = detached()
        return out.recorded("abs", inputs: [self]) { g in [zipDense(x, g) { ck_abs_backward($0, $1, $2, $3) }] }
    }

    /// xᵖ elementwise for a constant exponent (`torch.pow(x, p)`), with `powf` semantics:
    /// a negative base gives NaN unless p is integral. p ∈ {1, 2, ½, −1, −½} take fast paths.
    public func pow(_ p: Float) -> Tensor {
        let out = mapDense(self) { ck_pow($0, $1, $2, p) }
        let x = detached()
        return out.recorded("pow", inputs: [self]) { g in
            // PyTorch defines the gradient of x⁰ as 0 everywhere (avoiding 0·x⁻¹ = NaN at 0).
            if p == 0 { return [Tensor.zeros(x.shape)] }
            let d = mapDense(x) { ck_pow($0, $1, $2, p - 1) }
            return [zipDense(g, d) { ck_mul_scaled($0, $1, p, $2, $3) }]
        }
    }

    /// Values limited to [min, max] (`torch.clamp`); either bound may be nil, not both.
    /// The gradient passes where min ≤ x ≤ max and is 0 outside, as in PyTorch.
    public func clamped(min: Float? = nil, max: Float? = nil) throws -> Tensor {
        guard min != nil || max != nil else {
            throw TensorError("clamp", "at least one of min and max must be given (tensor of shape \(shape))")
        }
        let lo = min ?? -Float.infinity, hi = max ?? Float.infinity
        let out = mapDense(self) { ck_clamp($0, $1, $2, lo, hi) }
        let x = detached()
        return out.recorded("clamp", inputs: [self]) { g in
            [zipDense(x, g) { ck_clamp_backward($0, $1, $2, $3, lo, hi) }]
        }
    }
}
