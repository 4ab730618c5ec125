import CKernels

/// Where one attention operand lives: element (b, t, c) of a [B, T, H·D] tensor is at
/// `base + b·batchStride + t·rowStride + c`. Head h is the column block h·D..<(h+1)·D, read
/// in place as a T×D matrix with leading dimension `rowStride` (no copy to [B, H, T, D]).
struct HeadLayout {
    let base: UnsafeMutablePointer<Float>
    let batchStride: Int
    let rowStride: Int

    @inline(__always)
    func head(batch b: Int, column c: Int) -> UnsafeMutablePointer<Float> { base + b * batchStride + c }

    /// The layout of a rank-3 tensor whose last axis is dense, used in place; anything else
    /// (a transposed view, say) is copied once. Returns the tensor that owns the memory.
    static func of(_ t: Tensor) -> (Tensor, HeadLayout) {
        let width = t.shape[2]
        if t.strides[2] == 1 || width == 1 {
            // BLAS wants lda ≥ the row width even when only one row is read.
            let rowStride = t.shape[1] == 1 ? max(t.strides[1], width) : t.strides[1]
            if rowStride >= width {
                return (t, HeadLayout(base: t.pointer, batchStride: t.strides[0], rowStride: max(rowStride, 1)))
            }
        }
        let c = t.contiguous()
        return (c, HeadLayout(base: c.pointer, batchStride: t.shape[1] * width, rowStride: max(width, 1)))
    }

    /// A dense [B, T, width] buffer viewed at column `offset` (one of q/k/v in a fused buffer).
    static func dense(_ p: UnsafeMutablePointer<Float>, rows: Int, width: Int, offset: Int = 0) -> HeadLayout {
        HeadLayout(base: p + offset, batchStride: rows * width, rowStride: width)
    }
}

/// The sizes and operands of one attention call, shared by forward and backward.
struct AttentionProblem {
    let batch: Int, heads: Int, queryLength: Int, keyLength: Int, headDim: Int
    let scale: Float
    let q: HeadLayout, k: HeadLayout, v: HeadLayout
    /// Additive mask rows (row i of batch b at mask + b·maskBatchStride + i·keyLength).
    let mask: UnsafePointer<Float>?
    let maskBatchStride: Int

    var pairs: Int { batch * heads }
    var scoreCount: Int { queryLength * keyLength }

    /// Runs `body(pair, scratch)` for every (batch, head) pair, pair = b·heads + h, split
    /// into one contiguous run per worker; each worker gets its own `scratchCount` floats.
    func forEachPair(scratchCount: Int, _ body: (Int, UnsafeMutablePointer<Float>) -> Void) {
        let parts = min(Parallel.threadCount, pairs)
        let scratch = Tensor(uninitializedShape: [max(1, parts * scratchCount)])
        let base = scratch.pointer
        Parallel.forEach(parts) { t in
            for pair in (pairs * t / parts)..<(pairs * (t + 1) / parts) { body(pair, base + t * scratchCount) }
        }
        withExtendedLifetime(scratch) {}
    }

    /// out = softmax(scale·Q·Kᵀ + mask)·V per (batch, head); the probabilities of pair p go
    /// to `probabilities + p·Tq·Tk` when given (saved for backward), else to scratch.
    func forward(output: HeadLayout, probabilities: UnsafeMutablePointer<Float>?) {
        let tq = queryLength, tk = keyLength, d = headDim
        forEachPair(scratchCount: probabilities == nil ? scoreCount : 0) { pair, scratch in
            let b = pair / heads, c = (pair % heads) * d
            let p = probabilities.map { $0 + pair * scoreCount } ?? scratch
            BLAS.gemm(transB: true, m: tq, n: tk, k: d, alpha: scale,
                      a: q.head(batch: b, column: c), lda: q.rowStride,
                      b: k.head(batch: b, column: c), ldb: k.rowStride, c: p, ldc: tk)
            ck_attn_softmax_rows(p, tq, tk, mask.map { $0 + b * maskBatchStride }, tk)
            BLAS.gemm(m: tq, n: d, k: tk, a: p, lda: tk, b: v.head(batch: b, column: c), ldb: v.rowStride,
                      c: output.head(batch: b, column: c), ldc: output.rowStride)
        }
    }

    /// Gradients from dO (`gradOutput`). Writes dQ, dK, dV into the layouts given (each
    /// pair writes its own head's columns, so pairs never overlap) and overwrites the
    /// saved probabilities with dS, the gradient of the pre-softmax scores (for the mask).
    func backward(gradOutput g: HeadLayout, probabilities: UnsafeMutablePointer<Float>,
                  dq: HeadLayout?, dk: HeadLayout?, dv: HeadLayout?, needScores: Bool) {
        let tq = queryLength, tk = keyLength, d = headDim
        let needDS = dq != nil || dk != nil || needScores
        forEachPair(scratchCount: scoreCount) { pair, dp in
            let b = pair / heads, c = (pair % heads) * d
            let p = probabilities + pair * scoreCount
            let go = g.head(batch: b, column: c)
            if let dv {
                // dV = Pᵀ·dO
                BLAS.gemm(transA: true, m: tk, n: d, k: tq, a: p, lda: tk, b: go, ldb: g.rowStride,
                          c: dv.head(batch: b, column: c), ldc: dv.rowStride)
            }
            guard needDS else { return }
            // dP = dO·Vᵀ, then dS = P ⊙ (dP − rowsum(dP ⊙ P)) in place of P.
            BLAS.gemm(transB: true, m: tq, n: tk, k: d, a: go, lda: g.rowStride,
                      b: v.head(batch: b, column: c), ldb: v.rowStride, c: dp, ldc: tk)
            ck_attn_softmax_backward_rows(p, dp, p, tq, tk)
            if let dq {
                // dQ = scale·dS·K
                BLAS.gemm(m: tq, n: d, k: tk, alpha: scale, a: p, lda: tk,
                          b: k.head(batch: b, column: c), ldb: k.rowStride,
                          c: dq.head(batch: b, column: c), ldc: dq.rowStride)
            }
            if let dk {
                // dK = scale·dSᵀ·Q
                BLAS.gemm(transA: true, m: tk, n: d, k: tq, alpha: scale, a: p, lda: tk,
                          b: q.head(batch: b, column: c), ldb: q.rowStride,
                          c: dk.head(batch: b, column: c), ldc: dk.rowStride)
            }
        }
    }

    /// The mask's gradient from dS [B, H, Tq, Tk]: summed over heads, and over the batch
    /// too when one [Tq, Tk] mask was shared by every batch element.
    func maskGradient(scores ds: UnsafeMutablePointer<Float>, shape: [Int]) -> Tensor {
        let out = Tensor(uninitializedShape: shape)
        let n = scoreCount, o = out.pointer
        let perMask = shape.count == 3 ? heads : pairs   // dS blocks summed into each mask
        let masks = shape.count == 3 ? batch : 1
        Parallel.forRanges(masks * n, minChunk: 4096) { r in
            // Element e of mask m sums dS[m·perMask + j][e mod n] over j.
            var e = r.lowerBound
            while e < r.upperBound {
                let m = e / n, start = e % n, len = min(r.upperBound - e, n - start)
                let dst = o + e
                dst.update(from: ds + m * perMask * n + start, count: len)
                for j in 1..<max(perMask, 1) { ck_axpy(len, 1, ds + (m * perMask + j) * n + start, dst) }
                e += len
            }
        }
        return out
    }
}

/// Validates the mask shape ([Tq, Tk] or [B, Tq, Tk]) and returns its dense form with the
/// stride between batch elements (0 when shared).
private func attentionMask(_ mask: Tensor?, op: String, batch: Int, queryLength: Int, keyLength: Int) throws
    -> (Tensor, Int)? {
    guard let mask else { return nil }
    if mask.shape == [queryLength, keyLength] { return (mask.contiguous(), 0) }
    if mask.shape == [batch, queryLength, keyLength] { return (mask.contiguous(), queryLength * keyLength) }
    throw TensorError(op, "mask of shape \(mask.shape) must be [\(queryLength), \(keyLength)] or "
                      + "[\(batch), \(queryLength), \(keyLength)] (additive, -inf where masked)")
}

/// Multi-head scaled dot-product attention (`torch.nn.functional.scaled_dot_product_attention`
/// with heads split from and merged back into the channel axis).
///
/// `query` is [B, Tq, H·D], `key` and `value` are [B, Tk, H·D] (self or cross attention);
/// head h is columns h·D..<(h+1)·D of each. Each input may be a view whose last axis is
/// dense and whose rows are further apart (q/k/v sliced from one fused [B, T, 3·H·D]
/// buffer): heads are read in place through BLAS leading dimensions, never copied to
/// [B, H, T, D]. `mask` is added to the scores before the softmax: [Tq, Tk] shared by the
/// batch, or [B, Tq, Tk]; use -inf to mask, and it may require gradients (a learned bias).
/// A query row whose scores are all -inf gets all-zero probabilities, so its output and
/// gradients are 0 instead of PyTorch's NaN. `scale` defaults to 1/√D.
/// Returns [B, Tq, H·D], heads concatenated, ready for the output projection.
///
/// Per (batch, head) pair on one worker: S = scale·Q·Kᵀ (one GEMM with alpha = scale),
/// row softmax in place, O = P·V. Only P is saved for backward.
public func scaledDotProductAttention(query: Tensor, key: Tensor, value: Tensor, heads: Int,
                                      mask: Tensor? = nil, scale: Float? = nil) throws -> Tensor {
    let op = "scaledDotProductAttention"
    guard query.rank == 3, key.rank == 3, value.rank == 3 else {
        throw TensorError(op, "query \(query.shape), key \(key.shape) and value \(value.shape) must be [B, T, H·D]")
    }
    let b = query.shape[0], tq = query.shape[1], width = query.shape[2], tk = key.shape[1]
    guard key.shape == value.shape, key.shape[0] == b, key.shape[2] == width else {
        throw TensorError(op, "query \(query.shape), key \(key.shape) and value \(value.shape) are incompatible "
                          + "(need query [B, Tq, E], key and value [B, Tk, E])")
    }
    guard heads > 0, width % heads == 0 else {
        throw TensorError(op, "\(heads) heads do not divide the embedding width \(width) of \(query.shape)")
    }
    guard tk > 0 else { throw TensorError(op, "key \(key.shape) has no positions to attend to") }
    let maskInfo = try attentionMask(mask, op: op, batch: b, queryLength: tq, keyLength: tk)

    let (qt, ql) = HeadLayout.of(query), (kt, kl) = HeadLayout.of(key), (vt, vl) = HeadLayout.of(value)
    let d = width / heads
    let problem = AttentionProblem(batch: b, heads: heads, queryLength: tq, keyLength: tk, headDim: d,
                                   scale: scale ?? 1 / Float(d).squareRoot(), q: ql, k: kl, v: vl,
                                   mask: maskInfo.map { UnsafePointer($0.0.pointer) }, maskBatchStride: maskInfo?.1 ?? 0)
    var inputs = [query, key, value]
    if let mask { inputs.append(mask) }
    let recording = Autograd.isEnabled && inputs.contains { $0.requiresGrad }
    let out = Tensor(uninitializedShape: [b, tq, width])
    let probabilities = recording ? Tensor(uninitializedShape: [b, heads, tq, tk]) : nil
    problem.forward(output: .dense(out.pointer, rows: tq, width: width), probabilities: probabilities?.pointer)
    withExtendedLifetime((qt, kt, vt, maskInfo)) {}
    guard let probabilities else { return out }

    let needQ = query.requiresGrad, needK = key.requiresGrad, needV = value.requiresGrad
    let needMask = mask?.requiresGrad ?? false, maskShape = mask?.shape ?? [], hasMask = mask != nil
    let queryShape = query.shape, keyShape = key.shape
    return out.recorded(op, inputs: inputs) { g in
        let gc = g.contiguous()
        let dq = needQ ? Tensor(uninitializedShape: queryShape) : nil
        let dk = needK ? Tensor(uninitializedShape: keyShape) : nil
        let dv = needV ? Tensor(uninitializedShape: keyShape) : nil
        problem.backward(gradOutput: .dense(gc.pointer, rows: tq, width: width), probabilities: probabilities.pointer,
                         dq: dq.map { .dense($0.pointer, rows: tq, width: width) },
                         dk: dk.map { .dense($0.pointer, rows: tk, width: width) },
                         dv: dv.map { .dense($0.pointer, rows: tk, width: width) }, needScores: needMask)
        let dm = needMask ? problem.maskGradient(scores: probabilities.pointer, shape: maskShape) : nil
        withExtendedLifetime((qt, kt, vt, maskInfo)) {}
        return hasMask ? [dq, dk, dv, dm] : [dq, dk, dv]
    }
}

/// Multi-head self-attention on a fused qkv projection [B, T, 3·C] in the layout of timm's
/// and DiT's `Attention` (q = [..., 0:C], k = [..., C:2C], v = [..., 2C:3C], head h at
/// columns h·D..<(h+1)·D of each): the same kernel as `scaledDotProductAttention`,
/// reading heads in place, and its backward writes dq, dk and dv straight into one
/// [B, T, 3·C] gradient instead of scattering three slices. Returns [B, T, C].
/// `mask` is additive, [T, T] or [B, T, T], as in `scaledDotProductAttention`.
public func selfAttention(qkv: Tensor, heads: Int, mask: Tensor? = nil) throws -> Tensor {
    let op = "selfAttention"
    guard qkv.rank == 3, qkv.shape[2] % 3 == 0 else {
        throw TensorError(op, "qkv of shape \(qkv.shape) must be [B, T, 3·C]")
    }
    let b = qkv.shape[0], t = qkv.shape[1], width = qkv.shape[2] / 3
    guard heads > 0, width % heads == 0 else {
        throw TensorError(op, "\(heads) heads do not divide the embedding width \(width) of qkv \(qkv.shape)")
    }
    guard t > 0 else { throw TensorError(op, "qkv \(qkv.shape) has no positions to attend to") }
    let maskInfo = try attentionMask(mask, op: op, batch: b, queryLength: t, keyLength: t)

    let (source, layout) = HeadLayout.of(qkv)
    func part(_ l: HeadLayout, _ i: Int) -> HeadLayout {
        HeadLayout(base: l.base + i * width, batchStride: l.batchStride, rowStride: l.rowStride)
    }
    let d = width / heads
    let problem = AttentionProblem(batch: b, heads: heads, queryLength: t, keyLength: t, headDim: d,
                                   scale: 1 / Float(d).squareRoot(),
                                   q: part(layout, 0), k: part(layout, 1), v: part(layout, 2),
                                   mask: maskInfo.map { UnsafePointer($0.0.pointer) }, maskBatchStride: maskInfo?.1 ?? 0)
    var inputs = [qkv]
    if let mask { inputs.append(mask) }
    let recording = Autograd.isEnabled && inputs.contains { $0.requiresGrad }
    let out = Tensor(uninitializedShape: [b, t, width])
    let probabilities = recording ? Tensor(uninitializedShape: [b, heads, t, t]) : nil
    problem.forward(output: .dense(out.pointer, rows: t, width: width), probabilities: probabilities?.pointer)
    withExtendedLifetime((source, maskInfo)) {}
    guard let probabilities else { return out }

    let needQKV = qkv.requiresGrad, needMask = mask?.requiresGrad ?? false, maskShape = mask?.shape ?? []
    let hasMask = mask != nil, qkvShape = qkv.shape
    return out.recorded(op, inputs: inputs) { g in
        let gc = g.contiguous()
        let dqkv = needQKV ? Tensor(uninitializedShape: qkvShape) : nil
        let grad = dqkv.map { HeadLayout.dense($0.pointer, rows: t, width: 3 * width) }
        problem.backward(gradOutput: .dense(gc.pointer, rows: t, width: width), probabilities: probabilities.pointer,
                         dq: grad.map { part($0, 0) }, dk: grad.map { part($0, 1) }, dv: grad.map { part($0, 2) },
                         needScores: needMask)
        let dm = needMask ? problem.maskGradient(scores: probabilities.pointer, shape: maskShape) : nil
        withExtendedLifetime((source, maskInfo)) {}
        return hasMask ? [dqkv, dm] : [dqkv]
    }
}
