import CKernels

// Reductions (`torch.sum/mean/max/argmax/var`). Sums accumulate in double (blocked
// float lanes folded into doubles along rows, double lanes down columns), so a sum over
// millions of elements keeps float precision.

/// Σ of dense-or-strided `x` over the resolved, sorted `axes`, times `scale`, as a dense
/// tensor in the keep-dims shape (reduced axes have size 1). No autodiff recording.
///
/// Size-1 axes are dropped and runs of reduced or kept axes merged, so every pass is a
/// reduction of the middle axis of an [outer, k, inner] block: rows when inner is 1,
/// columns otherwise. Interleaved patterns (axes 0 and 2 of four) take one pass per run.
func reduceSum(_ x: Tensor, axes: [Int], scale: Float) -> Tensor {
    let reduced = Set(axes)
    let keepShape = x.shape.indices.map { reduced.contains($0) ? 1 : x.shape[$0] }
    var runs: [(size: Int, reduced: Bool)] = []
    for d in x.shape.indices where x.shape[d] != 1 {
        let r = reduced.contains(d)
        if let last = runs.indices.last, runs[last].reduced == r {
            runs[last].size *= x.shape[d]
        } else {
            runs.append((x.shape[d], r))
        }
    }
    guard runs.contains(where: \.reduced) else {
        // Nothing to add up (only size-1 axes named): a scaled copy in the new shape.
        let c = scaled(x, by: scale)
        return Tensor(storage: c.storage, offset: c.offset, shape: keepShape)
    }
    var current = x.contiguous()
    while let i = runs.lastIndex(where: \.reduced) {
        let outer = runs[..<i].reduce(1) { $0 * $1.size }
        let k = runs[i].size
        let inner = runs[(i + 1)...].reduce(1) { $0 * $1.size }
        let isLast = runs.filter(\.reduced).count == 1
        let next = Tensor(uninitializedShape: [outer * inner])
        sumMiddleAxis(current.pointer, outer: outer, k: k, inner: inner, scale: isLast ? scale : 1, into: next.pointer)
        current = next
        runs.remove(at: i)
        if i > 0 && i < runs.count {
            runs[i - 1].size *= runs[i].size
            runs.remove(at: i)
        }
    }
    return Tensor(storage: current.storage, offset: current.offset, shape: keepShape)
}

/// out[o, j] = scale · Σ_k x[o, k, j] for a dense [outer, k, inner] block, threaded by
/// whichever of outer rows, columns or (for one long row) stretches of k is large enough.
private func sumMiddleAxis(_ x: UnsafePointer<Float>, outer: Int, k: Int, inner: Int, scale: Float,
                           into out: UnsafeMutablePointer<Float>) {
    let work = 1 << 15
    if inner == 1 {
        if outer == 1 && k >= 4 * work && Parallel.threadCount > 1 {
            // One long sum: partial sums per thread, combined in double.
            let parts = Parallel.threadCount
            var partial = [Double](repeating: 0, count: parts)
            partial.withUnsafeMutableBufferPointer { p in
                let base = p.baseAddress!
                Parallel.forEach(parts) { t in
                    let lo = k * t / parts, hi = k * (t + 1) / parts
                    base[t] = ck_sum(x + lo, hi - lo)
                }
            }
            out.pointee = Float(partial.reduce(0, +) * Double(scale))
            return
        }
        Parallel.forRanges(outer, minChunk: Swift.max(1, work / Swift.max(k, 1))) { r in
            ck_sum_rows(x + r.lowerBound * k, r.count, k, scale, out + r.lowerBound)
        }
        return
    }
    if outer >= Parallel.threadCount || inner < 64 {
        Parallel.forRanges(outer, minChunk: Swift.max(1, work / Swift.max(k * inner, 1))) { r in
            for o in r { ck_sum_columns(x + o * k * inner, k, inner, inner, scale, out + o * inner) }
        }
    } else {
        for o in 0..<outer {
            let block = x + o * k * inner, dst = out + o * inner
            Parallel.forRanges(inner, minChunk: Swift.max(8, work / Swift.max(k, 1))) { r in
                ck_sum_columns(block + r.lowerBound, k, r.count, inner, scale, dst + r.lowerBound)
            }
        }
    }
}

/// Sums a gradient computed at a broadcast shape back to an input's `shape`: over the
/// leading axes the input lacked and the axes where it had size 1. Dense result.
func summed(_ g: Tensor, toShape shape: [Int]) -> Tensor {
    if g.shape == shape { return g.contiguous() }
    let lead = g.rank - shape.count
    let axes = (0..<g.rank).filter { $0 < lead || (shape[$0 - lead] == 1 && g.shape[$0] != 1) }
    let s = reduceSum(g, axes: axes, scale: 1)
    return Tensor(storage: s.storage, offset: s.offset, shape: shape)
}

/// A gradient of a reduced tensor spread back over `shape`, times `scale` (the backward
/// of sum and mean): g is read in its keep-dims shape and broadcast.
private func spread(_ g: Tensor, keepShape: [Int], to shape: [Int], scale: Float) -> Tensor {
    let gc = g.contiguous()
    let gk = Tensor(storage: gc.storage, offset: gc.offset, shape: keepShape)
    if scale == 1 { return broadcastApply(BinaryKernel.copy, gk, gk, shape: shape) }
    return broadcastApply(BinaryKernel.multiply, gk, Tensor(scalar: scale), shape: shape)
}

extension Tensor {
    /// Resolves reduction axes (negative counts from the end), sorted; a repeat is an error.
    func reductionAxes(_ axes: [Int], op: String) throws -> [Int] {
        let resolved = try axes.map { try axis($0, op: op) }
        guard Set(resolved).count == resolved.count else {
            throw TensorError(op, "axes \(axes) name an axis twice (tensor of shape \(shape))")
        }
        return resolved.sorted().filter { $0 < rank }
    }

    private func reducedShape(_ axes: [Int], keepingDims: Bool) -> [Int] {
        keepingDims ? shape.indices.map { axes.contains($0) ? 1 : shape[$0] }
                    : shape.indices.filter { !axes.contains($0) }.map { shape[$0] }
    }

    /// Sum of all elements as a 0-d tensor (`torch.sum(x)`).
    public func sum() -> Tensor {
        let inputShape = shape
        let s = reduceSum(self, axes: Array(shape.indices), scale: 1)
        let out = Tensor(storage: s.storage, offset: s.offset, shape: [])
        return out.recorded("sum", inputs: [self]) { g in
            [spread(g, keepShape: inputShape.map { _ in 1 }, to: inputShape, scale: 1)]
        }
    }

    /// Sums over `axes` (`torch.sum(x, dim, keepdim)`); negative axes count from the end.
    /// An empty list reduces nothing (NumPy's rule, not torch's legacy "all axes").
    public func sum(axes: [Int], keepingDims: Bool = false) throws -> Tensor {
        try reduce("sum", axes: axes, keepingDims: keepingDims, mean: false)
    }

    /// Mean of all elements as a 0-d tensor (`torch.mean(x)`); NaN for an empty tensor.
    public func mean() -> Tensor {
        let inputShape = shape
        let scale = 1 / Float(count)
        let s = reduceSum(self, axes: Array(shape.indices), scale: scale)
        let out = Tensor(storage: s.storage, offset: s.offset, shape: [])
        return out.recorded("mean", inputs: [self]) { g in
            [spread(g, keepShape: inputShape.map { _ in 1 }, to: inputShape, scale: scale)]
        }
    }

    /// Means over `axes` (`torch.mean(x, dim, keepdim)`).
    public func mean(axes: [Int], keepingDims: Bool = false) throws -> Tensor {
        try reduce("mean", axes: axes, keepingDims: keepingDims, mean: true)
    }

    private func reduce(_ op: String, axes: [Int], keepingDims: Bool, mean: Bool) throws -> Tensor {
        let resolved = try reductionAxes(axes, op: op)
        let n = resolved.reduce(1) { $0 * shape[$1] }
        let scale: Float = mean ? 1 / Float(n) : 1
        let s = reduceSum(self, axes: resolved, scale: scale)
        let out = Tensor(storage: s.storage, offset: s.offset, shape: reducedShape(resolved, keepingDims: keepingDims))
        let inputShape = shape, keepShape = s.shape
        return out.recorded(op, inputs: [self]) { g in
            [spread(g, keepShape: keepShape, to: inputShape, scale: scale)]
        }
    }

    /// Variance over `axes` (`torch.var(x, dim, unbiased, keepdim)`): Σ(x − mean)² / (n − 1),
    /// or / n when `unbiased` is false. Computed in two passes (mean, then squared
    /// deviations), which stays accurate when the mean is large against the spread.
    public func variance(axes: [Int], keepingDims: Bool = false, unbiased: Bool = true) throws -> Tensor {
        let resolved = try reductionAxes(axes, op: "var")
        let n = resolved.reduce(1) { $0 * shape[$1] }
        let divisor = Float(n - (unbiased ? 1 : 0))
        let mean = reduceSum(self, axes: resolved, scale: 1 / Float(n))
        let deviation = broadcastApply(BinaryKernel.subtract, self, mean, shape: shape)
        let squares = deviation.squared()
        let s = reduceSum(squares, axes: resolved, scale: 1 / divisor)
        let out = Tensor(storage: s.storage, offset: s.offset, shape: reducedShape(resolved, keepingDims: keepingDims))
        let inputShape = shape, keepShape = s.shape
        return out.recorded("var", inputs: [self]) { g in
            // d var / dx = 2 (x − mean) / divisor; the mean's own dependence on x cancels.
            let gk = spread(g, keepShape: keepShape, to: keepShape, scale: 2 / divisor)
            return [broadcastApply(BinaryKernel.multiply, deviation, gk, shape: inputShape)]
        }
    }

    /// The [outer, k, inner] split of this tensor around `axis` (a 0-d tensor is [1, 1, 1]).
    private func split(around axis: Int) -> (outer: Int, k: Int, inner: Int) {
        guard rank > 0 else { return (1, 1, 1) }
        return (shape[..<axis].reduce(1, *), shape[axis], shape[(axis + 1)...].reduce(1, *))
    }

    private func maxAlong(_ axis: Int, op: String) throws -> (values: Tensor, indices: [Int32], split: (Int, Int, Int)) {
        let (outer, k, inner) = split(around: axis)
        guard k > 0 else {
            throw TensorError(op, "cannot reduce over axis \(axis) of size 0 (tensor of shape \(shape))")
        }
        let x = contiguous()
        let values = Tensor(uninitializedShape: [outer * inner])
        var indices = [Int32](repeating: 0, count: outer * inner)
        let px = x.pointer, pv = values.pointer
        indices.withUnsafeMutableBufferPointer { ix in
            let pi = ix.baseAddress!
            Parallel.forRanges(outer, minChunk: Swift.max(1, (1 << 15) / Swift.max(k * inner, 1))) { r in
                let o = r.lowerBound
                ck_max_axis(px + o * k * inner, r.count, k, inner, pv + o * inner, pi + o * inner)
            }
        }
        return (values, indices, (outer, k, inner))
    }

    /// Maximum values along `axis` (`torch.max(x, dim, keepdim).values`). The gradient
    /// flows to the first position of each maximum; NaN counts as the maximum.
    public func max(axis: Int, keepingDims: Bool = false) throws -> Tensor {
        let a = try self.axis(axis, op: "max")
        let (values, indices, (outer, k, inner)) = try maxAlong(a, op: "max")
        let out = Tensor(storage: values.storage, offset: 0, shape: reducedShape(rank > 0 ? [a] : [], keepingDims: keepingDims))
        let inputShape = shape
        return out.recorded("max", inputs: [self]) { g in
            let gc = g.contiguous()
            let dx = Tensor.zeros(inputShape)
            let pg = gc.pointer, pd = dx.pointer
            for o in 0..<outer {
                for j in 0..<inner {
                    pd[(o * k + Int(indices[o * inner + j])) * inner + j] = pg[o * inner + j]
                }
            }
            return [dx]
        }
    }

    /// Positions of the maxima along `axis` (`torch.argmax(x, dim)`), not differentiable:
    /// one index in 0..<shape[axis] per element of the reduced shape (`axis` removed), in
    /// row-major order. For logits [N, classes], `argmax(axis: -1)` is the N predicted labels.
    /// Ties go to the first maximum.
    public func argmax(axis: Int) throws -> [Int] {
        let a = try self.axis(axis, op: "argmax")
        return try maxAlong(a, op: "argmax").indices.map(Int.init)
    }
}
