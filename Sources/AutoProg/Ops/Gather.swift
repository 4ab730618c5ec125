import CKernels

// Row gathers: `torch.index_select` and `torch.nn.functional.embedding`. The backward
// scatter-adds gradient rows back (repeated indices accumulate).

/// Checks indices against `bound` and returns them unchanged, or throws naming the first
/// bad one and its position.
private func validated(_ indices: [Int], bound: Int, op: String, shape: [Int]) throws -> [Int] {
    for (position, i) in indices.enumerated() where i < 0 || i >= bound {
        throw TensorError(op, "index \(i) at position \(position) is out of range 0..<\(bound) (tensor of shape \(shape))")
    }
    return indices
}

/// `x` with `indices` chosen along `axis`: out[o, j, :] = x[o, indices[j], :] over the
/// [outer, k, inner] split of x. `outShape` is the caller's shape for the result.
private func select(_ x: Tensor, axis: Int, indices: [Int], outShape: [Int], op: String) -> Tensor {
    let outer = x.shape[..<axis].reduce(1, *), k = x.shape[axis], inner = x.shape[(axis + 1)...].reduce(1, *)
    let n = indices.count
    let xc = x.contiguous()
    let out = Tensor(uninitializedShape: outShape)
    let px = xc.pointer, po = out.pointer
    Parallel.forRanges(outer * n, minChunk: Swift.max(1, (1 << 15) / Swift.max(inner, 1))) { r in
        for row in r {
            let o = row / n, j = row % n
            (po + row * inner).update(from: px + (o * k + indices[j]) * inner, count: inner)
        }
    }
    let inputShape = x.shape
    return out.recorded(op, inputs: [x]) { g in
        let gc = g.contiguous()
        let dx = Tensor.zeros(inputShape)
        let pg = gc.pointer, pd = dx.pointer
        // Threads own disjoint outer blocks, or disjoint column ranges when there is one
        // block (an embedding table), so repeated indices never race.
        if outer >= Parallel.threadCount {
            Parallel.forRanges(outer, minChunk: Swift.max(1, (1 << 15) / Swift.max(n * inner, 1))) { r in
                for o in r {
                    for j in 0..<n { ck_axpy(inner, 1, pg + (o * n + j) * inner, pd + (o * k + indices[j]) * inner) }
                }
            }
        } else {
            for o in 0..<outer {
                Parallel.forRanges(inner, minChunk: Swift.max(64, (1 << 15) / Swift.max(n, 1))) { c in
                    for j in 0..<n {
                        ck_axpy(c.count, 1, pg + (o * n + j) * inner + c.lowerBound,
                                pd + (o * k + indices[j]) * inner + c.lowerBound)
                    }
                }
            }
        }
        return [dx]
    }
}

/// Rows of `table` [count, dim] picked by `indices` (`torch.nn.functional.embedding`):
/// result [indices.count, dim]. The table's gradient adds each output row's gradient
/// into the row it came from.
public func embedding(_ indices: [Int], table: Tensor) throws -> Tensor {
    guard table.rank == 2 else {
        throw TensorError("embedding", "table must be [count, dim], got shape \(table.shape)")
    }
    let checked = try validated(indices, bound: table.shape[0], op: "embedding", shape: table.shape)
    return select(table, axis: 0, indices: checked, outShape: [indices.count, table.shape[1]], op: "embedding")
}

/// Embedding lookup with indices held in a tensor of any shape (integral float values,
/// as Lua and data loaders pass labels): result shape is `indices.shape + [dim]`.
/// A non-integral or out-of-range index throws, naming it and its position.
public func embedding(_ indices: Tensor, table: Tensor) throws -> Tensor {
    guard table.rank == 2 else {
        throw TensorError("embedding", "table must be [count, dim], got shape \(table.shape)")
    }
    let values = indices.toArray()
    var rows = [Int](repeating: 0, count: values.count)
    for (position, v) in values.enumerated() {
        guard v.isFinite, v.rounded() == v else {
            throw TensorError("embedding", "index \(v) at position \(position) is not an integer (indices of shape \(indices.shape))")
        }
        rows[position] = Int(v)
    }
    let checked = try validated(rows, bound: table.shape[0], op: "embedding", shape: table.shape)
    return select(table, axis: 0, indices: checked, outShape: indices.shape + [table.shape[1]], op: "embedding")
}

extension Tensor {
    /// Entries `indices` along `axis`, in that order, repeats allowed (`torch.index_select`):
    /// the axis takes size `indices.count`.
    public func gathered(axis: Int, indices: [Int]) throws -> Tensor {
        let a = try self.axis(axis, op: "index_select")
        guard rank > 0 else { throw TensorError("index_select", "cannot index a 0-d tensor") }
        let checked = try validated(indices, bound: shape[a], op: "index_select", shape: shape)
        var outShape = shape
        outShape[a] = indices.count
        return select(self, axis: a, indices: checked, outShape: outShape, op: "index_select")
    }
}
