/// Shape ops: views where the layout allows, copies otherwise; gradients map back by
/// the inverse transform.
extension Tensor {
    /// A view sharing this tensor's storage (no autodiff recording).
    private func view(shape: [Int], strides: [Int], offset: Int? = nil) -> Tensor {
        Tensor(storage: storage, offset: offset ?? self.offset, shape: shape, strides: strides)
    }

    /// A dense gradient `g` read in `shape` (same element count): the backward of every
    /// op that only relabels axes.
    private static func regrid(_ g: Tensor, _ shape: [Int]) -> Tensor {
        let gc = g.contiguous()
        return Tensor(storage: gc.storage, offset: gc.offset, shape: shape)
    }

    /// The same elements in a new shape (`torch.reshape`); one axis may be -1 (inferred).
    /// A view whenever the strides allow it (always for contiguous input), else a copy.
    public func reshaped(_ newShape: [Int]) throws -> Tensor {
        var target = newShape
        let known = newShape.filter { $0 != -1 }.reduce(1, *)
        let inferred = newShape.indices.filter { newShape[$0] == -1 }
        guard inferred.count <= 1, newShape.allSatisfy({ $0 >= -1 }) else {
            throw TensorError("reshape", "invalid target shape \(newShape)")
        }
        if let i = inferred.first {
            guard known > 0, count % known == 0 else {
                throw TensorError("reshape", "cannot reshape \(shape) (\(count) elements) to \(newShape)")
            }
            target[i] = count / known
        }
        guard target.reduce(1, *) == count else {
            throw TensorError("reshape", "cannot reshape \(shape) (\(count) elements) to \(newShape)")
        }
        let out: Tensor
        if let strides = viewStrides(for: target) {
            out = view(shape: target, strides: strides)
        } else {
            let source = denseCopy(self)
            out = Tensor(storage: source.storage, offset: source.offset, shape: target)
        }
        let inputShape = shape
        return out.recorded("reshape", inputs: [self]) { g in [Tensor.regrid(g, inputShape)] }
    }

    /// Strides that read this tensor's elements in row-major order as `newShape`, or nil
    /// when no such strides exist (ATen's `computeStride`): each maximal run of axes that
    /// is contiguous in memory may be re-split freely; runs may not be merged.
    private func viewStrides(for newShape: [Int]) -> [Int]? {
        if isContiguous || count == 0 { return Tensor.contiguousStrides(for: newShape) }
        var newStrides = [Int](repeating: 0, count: newShape.count)
        var viewAxis = newShape.count - 1
        var chunkBaseStride = strides.last!
        var tensorCount = 1, viewCount = 1
        for d in stride(from: rank - 1, through: 0, by: -1) {
            tensorCount *= shape[d]
            if d == 0 || (shape[d - 1] != 1 && strides[d - 1] != tensorCount * chunkBaseStride) {
                while viewAxis >= 0 && (viewCount < tensorCount || newShape[viewAxis] == 1) {
                    newStrides[viewAxis] = viewCount * chunkBaseStride
                    viewCount *= newShape[viewAxis]
                    viewAxis -= 1
                }
                if viewCount != tensorCount { return nil }
                if d > 0 {
                    chunkBaseStride = strides[d - 1]
                    tensorCount = 1
                    viewCount = 1
                }
            }
        }
        return viewAxis == -1 ? newStrides : nil
    }

    /// The axes reordered (`torch.permute`): output axis i is input axis `axes[i]`. A view.
    public func permuted(_ axes: [Int]) throws -> Tensor {
        guard axes.count == rank else {
            throw TensorError("permute", "\(axes) does not list the \(rank) axes of a tensor of shape \(shape)")
        }
        let resolved = try axes.map { try axis($0, op: "permute") }
        guard Set(resolved).count == rank else {
            throw TensorError("permute", "\(axes) is not a permutation of the axes of a tensor of shape \(shape)")
        }
        let out = view(shape: resolved.map { shape[$0] }, strides: resolved.map { strides[$0] })
        var inverse = [Int](repeating: 0, count: rank)
        for (i, a) in resolved.enumerated() { inverse[a] = i }
        return out.recorded("permute", inputs: [self]) { g in
            [denseCopy(Tensor(storage: g.storage, offset: g.offset, shape: inverse.map { g.shape[$0] },
                              strides: inverse.map { g.strides[$0] }))]
        }
    }

    /// Two axes swapped (`torch.transpose`). A view.
    public func transposed(_ a: Int, _ b: Int) throws -> Tensor {
        var axes = Array(0..<rank)
        axes.swapAt(try axis(a, op: "transpose"), try axis(b, op: "transpose"))
        return try permuted(axes)
    }

    /// Elements `range` along `axis` (`x.narrow(axis, start, length)`, `x[:, a:b]`): a
    /// strided view. The backward writes the gradient into zeros of the input's shape.
    public func sliced(axis: Int, _ range: Range<Int>) throws -> Tensor {
        let a = try self.axis(axis, op: "slice")
        guard rank > 0, range.lowerBound >= 0, range.upperBound <= shape[a] else {
            throw TensorError("slice", "range \(range) is out of bounds for axis \(axis) of a tensor of shape \(shape)")
        }
        var newShape = shape
        newShape[a] = range.count
        let out = view(shape: newShape, strides: strides, offset: offset + range.lowerBound * strides[a])
        let inputShape = shape
        let outer = shape[..<a].reduce(1, *), inner = shape[(a + 1)...].reduce(1, *)
        let full = shape[a]
        return out.recorded("slice", inputs: [self]) { g in
            let gc = g.contiguous()
            let dx = Tensor(uninitializedShape: inputShape)
            let pg = gc.pointer, pd = dx.pointer
            let before = range.lowerBound * inner, length = range.count * inner
            let after = (full - range.upperBound) * inner
            Parallel.forRanges(outer, minChunk: Swift.max(1, (1 << 15) / Swift.max(full * inner, 1))) { r in
                for o in r {
                    let row = pd + o * full * inner
                    row.update(repeating: 0, count: before)
                    (row + before).update(from: pg + o * length, count: length)
                    (row + before + length).update(repeating: 0, count: after)
                }
            }
            return [dx]
        }
    }

    /// Tensors joined along `axis` (`torch.cat`); all other sizes must agree.
    public static func concatenated(_ xs: [Tensor], axis: Int) throws -> Tensor {
        guard let first = xs.first else { throw TensorError("cat", "no tensors to concatenate") }
        let a = try first.axis(axis, op: "cat")
        guard first.rank > 0 else { throw TensorError("cat", "cannot concatenate 0-d tensors") }
        for x in xs.dropFirst() {
            guard x.rank == first.rank,
                  x.shape.indices.allSatisfy({ $0 == a || x.shape[$0] == first.shape[$0] }) else {
                throw TensorError.shapes("cat", first.shape, x.shape, "differ outside axis \(axis)")
            }
        }
        let sizes = xs.map { $0.shape[a] }
        var outShape = first.shape
        outShape[a] = sizes.reduce(0, +)
        let outer = first.shape[..<a].reduce(1, *), inner = first.shape[(a + 1)...].reduce(1, *)
        let total = outShape[a] * inner
        let out = Tensor(uninitializedShape: outShape)
        var start = 0
        for (x, size) in zip(xs, sizes) {
            let xc = x.contiguous()
            copyBlocks(outer, length: size * inner, from: xc.pointer, stride: size * inner,
                       to: out.pointer + start * inner, stride: total)
            start += size
        }
        let needs = xs.map(\.requiresGrad)
        return out.recorded("cat", inputs: xs) { g in
            let gc = g.contiguous()
            var offset = 0
            return zip(sizes, needs).map { size, need -> Tensor? in
                defer { offset += size }
                guard need else { return nil }
                var shape = outShape
                shape[a] = size
                let dx = Tensor(uninitializedShape: shape)
                copyBlocks(outer, length: size * inner, from: gc.pointer + offset * inner, stride: total,
                           to: dx.pointer, stride: size * inner)
                return dx
            }
        }
    }

    /// `count` equal views along `axis` (`torch.chunk`, but strict: the size must divide).
    public func chunked(_ count: Int, axis: Int) throws -> [Tensor] {
        let a = try self.axis(axis, op: "chunk")
        guard count > 0, rank > 0, shape[a] % count == 0 else {
            throw TensorError("chunk", "axis \(axis) of a tensor of shape \(shape) does not split into \(count) equal chunks")
        }
        let size = shape[a] / count
        return try (0..<count).map { try sliced(axis: a, ($0 * size)..<(($0 + 1) * size)) }
    }

    /// A size-1 axis inserted at `axis` (`torch.unsqueeze`); axis may be -(rank+1)...rank. A view.
    public func unsqueezed(_ axis: Int) throws -> Tensor {
        let a = axis < 0 ? axis + rank + 1 : axis
        guard a >= 0 && a <= rank else {
            throw TensorError("unsqueeze", "axis \(axis) is out of range for a tensor of shape \(shape)")
        }
        var newShape = shape, newStrides = strides
        newShape.insert(1, at: a)
        newStrides.insert(a < rank ? strides[a] * shape[a] : 1, at: a)
        let inputShape = shape
        return view(shape: newShape, strides: newStrides).recorded("unsqueeze", inputs: [self]) { g in
            [Tensor.regrid(g, inputShape)]
        }
    }

    /// `axis` removed when its size is 1 (`torch.squeeze(x, dim)`); as in PyTorch, a
    /// tensor whose axis has another size is returned unchanged. A view.
    public func squeezed(_ axis: Int) throws -> Tensor {
        let a = try self.axis(axis, op: "squeeze")
        guard rank > 0, shape[a] == 1 else { return self }
        var newShape = shape, newStrides = strides
        newShape.remove(at: a)
        newStrides.remove(at: a)
        let inputShape = shape
        return view(shape: newShape, strides: newStrides).recorded("squeeze", inputs: [self]) { g in
            [Tensor.regrid(g, inputShape)]
        }
    }

    /// Axes `from` through `through` (inclusive) merged into one (`torch.flatten`).
    /// A view when the strides allow, as `reshaped`; a 0-d tensor becomes shape [1].
    public func flattened(from: Int = 0, through: Int = -1) throws -> Tensor {
        if rank == 0 { return try reshaped([1]) }
        let lo = try axis(from, op: "flatten"), hi = try axis(through, op: "flatten")
        guard lo <= hi else {
            throw TensorError("flatten", "start axis \(from) comes after end axis \(through) for a tensor of shape \(shape)")
        }
        return try reshaped(Array(shape[..<lo]) + [shape[lo...hi].reduce(1, *)] + Array(shape[(hi + 1)...]))
    }

    /// This tensor broadcast to `shape` (`torch.expand`): size-1 axes repeat with stride 0
    /// and new leading axes are added; -1 keeps an existing size. A view; writing through
    /// it is not allowed. The backward sums the gradient over the repeated axes.
    public func expanded(to shape: [Int]) throws -> Tensor {
        let lead = shape.count - rank
        guard lead >= 0 else {
            throw TensorError.shapes("expand", self.shape, shape, "are incompatible (the target has fewer axes)")
        }
        var target = shape, newStrides = [Int](repeating: 0, count: shape.count)
        for i in 0..<shape.count {
            if i < lead {
                guard shape[i] >= 0 else {
                    throw TensorError.shapes("expand", self.shape, shape, "are incompatible (new axis \(i) needs a size)")
                }
                continue
            }
            let own = self.shape[i - lead]
            if shape[i] == -1 || shape[i] == own {
                target[i] = own
                newStrides[i] = strides[i - lead]
            } else if own == 1 && shape[i] >= 0 {
                newStrides[i] = 0
            } else {
                throw TensorError.shapes("expand", self.shape, shape, "are incompatible (axis \(i): \(own) cannot expand to \(shape[i]))")
            }
        }
        let inputShape = self.shape
        return view(shape: target, strides: newStrides).recorded("expand", inputs: [self]) { g in
            [summed(g, toShape: inputShape)]
        }
    }
}

/// Copies `count` blocks of `length` floats between strided positions (the inner step of
/// concatenation and its backward), threaded when there is enough to move.
func copyBlocks(_ count: Int, length: Int, from src: UnsafePointer<Float>, stride srcStride: Int,
                to dst: UnsafeMutablePointer<Float>, stride dstStride: Int) {
    if length == 0 { return }
    Parallel.forRanges(count, minChunk: Swift.max(1, (1 << 16) / length)) { r in
        for i in r { (dst + i * dstStride).update(from: src + i * srcStride, count: length) }
    }
}
