import CKernels

/// Softmax along `axis` (`torch.softmax`), max-subtracted so large logits cannot
/// overflow. The last axis runs a row kernel; any other axis is normalised in place of
/// a transposed copy by a kernel vectorised across the contiguous trailing axes.
/// The backward uses the saved output: dx = y ⊙ (dy − Σ dy⊙y).
public func softmax(_ x: Tensor, axis: Int = -1) throws -> Tensor {
    try normalizedExponential("softmax", x, axis: axis, log: false)
}

/// log(softmax(x)) along `axis` (`torch.log_softmax`), computed as x − logsumexp(x)
/// (never as the log of a softmax, which underflows). Backward: dx = dy − e^y · Σ dy.
public func logSoftmax(_ x: Tensor, axis: Int = -1) throws -> Tensor {
    try normalizedExponential("log_softmax", x, axis: axis, log: true)
}

/// The tensor seen as [outer, dim, inner] around one axis.
struct AxisSplit {
    let outer: Int, dim: Int, inner: Int

    init(_ shape: [Int], axis a: Int) {
        outer = shape[..<min(a, shape.count)].reduce(1, *)
        dim = shape.isEmpty ? 1 : shape[a]
        inner = shape.isEmpty ? 1 : shape[(a + 1)...].reduce(1, *)
    }

    /// Columns per work item along a non-last axis (a multiple of the 8 vector lanes).
    static let columnBlock = 64

    /// Runs `rowBody(firstRow, rows)` when the axis is the last one, else
    /// `columnBody(sliceOffset, firstColumn, columns)` over [dim, inner] slices, split
    /// across the workers either way.
    func run(rows rowBody: (Int, Int) -> Void, columns columnBody: (Int, Int, Int) -> Void) {
        if inner == 1 {
            Parallel.forRanges(outer, minChunk: max(1, elementwiseChunk / max(dim, 1))) { r in
                rowBody(r.lowerBound, r.count)
            }
            return
        }
        let blocks = (inner + AxisSplit.columnBlock - 1) / AxisSplit.columnBlock
        let perItem = dim * AxisSplit.columnBlock
        Parallel.forRanges(outer * blocks, minChunk: max(1, elementwiseChunk / max(perItem, 1))) { r in
            for item in r {
                let o = item / blocks, c = (item % blocks) * AxisSplit.columnBlock
                columnBody(o * dim * inner, c, min(AxisSplit.columnBlock, inner - c))
            }
        }
    }
}

private func normalizedExponential(_ op: String, _ x: Tensor, axis: Int, log: Bool) throws -> Tensor {
    let a = try x.axis(axis, op: op)
    let split = AxisSplit(x.shape, axis: a)
    let xc = x.contiguous()
    let out = Tensor(uninitializedShape: x.shape)
    let flag: Int32 = log ? 1 : 0
    let src = xc.pointer, dst = out.pointer
    let dim = split.dim, inner = split.inner
    if out.count > 0 {
        withExtendedLifetime(xc) {
        split.run(rows: { first, rows in
            ck_softmax_rows(src + first * dim, dst + first * dim, rows, dim, flag)
        }, columns: { offset, column, width in
            ck_softmax_strided(src + offset + column, dst + offset + column, dim, inner, width, flag)
        })
        }
    }
    return out.recorded(op, inputs: [x]) { g in
        let gc = g.contiguous()
        let dx = Tensor(uninitializedShape: out.shape)
        let y = out.pointer, dy = gc.pointer, d = dx.pointer
        if dx.count > 0 {
            withExtendedLifetime((out, gc)) {
            split.run(rows: { first, rows in
                let o = first * dim
                ck_softmax_backward_rows(y + o, dy + o, d + o, rows, dim, flag)
            }, columns: { offset, column, width in
                let o = offset + column
                ck_softmax_strided_backward(y + o, dy + o, d + o, dim, inner, width, flag)
            })
            }
        }
        return [dx]
    }
}
