import CKernels

/// Layer normalisation over the last axis (`torch.nn.functional.layer_norm` with
/// `normalized_shape = [C]`): y = (x − mean)/√(var + ε)·weight + bias, biased variance.
/// weight and bias are [C] and optional (no affine). The forward saves one mean and one
/// 1/std per row; the backward computes dx, dweight and dbias only for inputs that
/// require gradients.
public func layerNorm(_ x: Tensor, weight: Tensor? = nil, bias: Tensor? = nil, epsilon: Float = 1e-5) throws -> Tensor {
    guard x.rank >= 1 else { throw TensorError("layer_norm", "input of shape \(x.shape) has no axis to normalise") }
    let c = x.shape[x.rank - 1]
    try checkAffine("layer_norm", x.shape, weight: weight, bias: bias, channels: c)
    let rows = c == 0 ? 0 : x.count / c
    let xc = x.contiguous(), w = weight?.contiguous(), b = bias?.contiguous()
    let out = Tensor(uninitializedShape: x.shape)
    let mean = Tensor(uninitializedShape: [rows]), rstd = Tensor(uninitializedShape: [rows])
    let xp = xc.pointer, wp = w?.pointer, bp = b?.pointer, yp = out.pointer, mp = mean.pointer, rp = rstd.pointer
    withExtendedLifetime((xc, w, b)) {
        Parallel.forRanges(rows, minChunk: max(1, elementwiseChunk / max(c, 1))) { r in
            let o = r.lowerBound * c
            ck_layer_norm_forward(xp + o, wp, bp, yp + o, mp + r.lowerBound, rp + r.lowerBound, r.count, c, epsilon)
        }
    }

    let needX = x.requiresGrad, needW = weight?.requiresGrad ?? false, needB = bias?.requiresGrad ?? false
    var inputs = [x]
    if let weight { inputs.append(weight) }
    if let bias { inputs.append(bias) }
    return out.recorded("layer_norm", inputs: inputs) { g in
        let gc = g.contiguous()
        let dx = needX ? Tensor(uninitializedShape: xc.shape) : nil
        let dxp = dx?.pointer, gp = gc.pointer, wp = w?.pointer
        let xp = xc.pointer, mp = mean.pointer, rp = rstd.pointer
        defer { withExtendedLifetime((xc, gc, w, mean, rstd)) {} }
        let (dw, db) = accumulateParameterGradients(count: rows, minChunk: max(1, elementwiseChunk / max(c, 1)),
                                                    channels: c, needWeight: needW, needBias: needB) { r, dwp, dbp in
            let o = r.lowerBound * c
            ck_layer_norm_backward(xp + o, gp + o, mp + r.lowerBound, rp + r.lowerBound, wp, r.count, c,
                                   dxp.map { $0 + o }, dwp, dbp)
        }
        var grads: [Tensor?] = [dx]
        if weight != nil { grads.append(dw) }
        if bias != nil { grads.append(db) }
        return grads
    }
}

/// Group normalisation (`torch.nn.functional.group_norm`) for x [B, C, *spatial]: the C
/// channels form `groups` groups; each (sample, group) is normalised over its channels
/// and all spatial positions, then scaled and shifted per channel by weight, bias [C].
public func groupNorm(_ x: Tensor, groups: Int, weight: Tensor? = nil, bias: Tensor? = nil,
                      epsilon: Float = 1e-5) throws -> Tensor {
    guard x.rank >= 2 else {
        throw TensorError("group_norm", "input of shape \(x.shape) must be [B, C, *spatial]")
    }
    let batch = x.shape[0], c = x.shape[1]
    guard groups > 0, c % groups == 0 else {
        throw TensorError("group_norm", "\(c) channels of input \(x.shape) do not split into \(groups) groups")
    }
    try checkAffine("group_norm", x.shape, weight: weight, bias: bias, channels: c)
    let spatial = x.shape[2...].reduce(1, *)
    let blocks = batch * groups, blockSize = c / groups * spatial
    let xc = x.contiguous(), w = weight?.contiguous(), b = bias?.contiguous()
    let out = Tensor(uninitializedShape: x.shape)
    let mean = Tensor(uninitializedShape: [blocks]), rstd = Tensor(uninitializedShape: [blocks])
    let xp = xc.pointer, wp = w?.pointer, bp = b?.pointer, yp = out.pointer, mp = mean.pointer, rp = rstd.pointer
    let minBlocks = max(1, elementwiseChunk / max(blockSize, 1))
    if blockSize > 0 {
        withExtendedLifetime((xc, w, b)) {
            Parallel.forRanges(blocks, minChunk: minBlocks) { r in
                ck_group_norm_forward(xp, wp, bp, yp, mp, rp, r.lowerBound, r.count, c, spatial, groups, epsilon)
            }
        }
    }

    let needX = x.requiresGrad, needW = weight?.requiresGrad ?? false, needB = bias?.requiresGrad ?? false
    var inputs = [x]
    if let weight { inputs.append(weight) }
    if let bias { inputs.append(bias) }
    return out.recorded("group_norm", inputs: inputs) { g in
        let gc = g.contiguous()
        let dx = needX ? Tensor(uninitializedShape: xc.shape) : nil
        let dxp = dx?.pointer, gp = gc.pointer, wp = w?.pointer
        let xp = xc.pointer, mp = mean.pointer, rp = rstd.pointer
        defer { withExtendedLifetime((xc, gc, w, mean, rstd)) {} }
        let (dw, db) = accumulateParameterGradients(count: blockSize > 0 ? blocks : 0, minChunk: minBlocks,
                                                    channels: c, needWeight: needW, needBias: needB) { r, dwp, dbp in
            ck_group_norm_backward(xp, gp, mp, rp, wp, r.lowerBound, r.count, c, spatial, groups, dxp, dwp, dbp)
        }
        var grads: [Tensor?] = [dx]
        if weight != nil { grads.append(dw) }
        if bias != nil { grads.append(db) }
        return grads
    }
}

private func checkAffine(_ op: String, _ shape: [Int], weight: Tensor?, bias: Tensor?, channels: Int) throws {
    if let weight, weight.shape != [channels] {
        throw TensorError.shapes(op, shape, weight.shape, "are incompatible (weight must be [\(channels)])")
    }
    if let bias, bias.shape != [channels] {
        throw TensorError.shapes(op, shape, bias.shape, "are incompatible (bias must be [\(channels)])")
    }
}

/// Splits 0..<count into per-worker ranges and runs `body(range, dweight, dbias)`, where
/// each worker accumulates into its own zeroed [channels] buffers (nil when not needed);
/// returns their sums. Per-worker buffers keep the parameter reduction race-free without
/// a second pass over the activations.
private func accumulateParameterGradients(
    count: Int, minChunk: Int, channels: Int, needWeight: Bool, needBias: Bool,
    _ body: (Range<Int>, UnsafeMutablePointer<Float>?, UnsafeMutablePointer<Float>?) -> Void
) -> (Tensor?, Tensor?) {
    let parts = max(1, min(Parallel.threadCount, count / max(minChunk, 1)))
    let dw = needWeight ? Tensor.zeros([parts, channels]) : nil
    let db = needBias ? Tensor.zeros([parts, channels]) : nil
    let dwp = dw?.pointer, dbp = db?.pointer
    Parallel.forEach(parts) { p in
        let range = (count * p / parts)..<(count * (p + 1) / parts)
        body(range, dwp.map { $0 + p * channels }, dbp.map { $0 + p * channels })
    }
    func total(_ t: Tensor?) -> Tensor? {
        guard let t else { return nil }
        let sum = Tensor(storage: t.storage, offset: 0, shape: [channels])
        for p in 1..<parts { ck_axpy(channels, 1, t.pointer + p * channels, sum.pointer) }
        return sum
    }
    return (total(dw), total(db))
}
