import CKernels

/// Inverted dropout (`torch.nn.functional.dropout`): in training each element is zeroed
/// with probability p and the survivors are scaled by 1/(1 − p), so evaluation is the
/// identity. The mask comes from the `.dropout` random stream: the draw reserves
/// ⌈n/4⌉ Philox blocks and the kernel generates them in parallel, so the stream
/// advances (and a resumed run reproduces) independently of threading. The backward
/// multiplies by the same mask.
public func dropout(_ x: Tensor, probability p: Float, training: Bool) throws -> Tensor {
    try checkProbability("dropout", p)
    if !training || p == 0 || x.count == 0 { return x }
    let keep = 1 - p
    // p = 1 drops everything (torch returns zeros rather than 0·∞).
    let scale: Float = keep > 0 ? 1 / keep : 0
    let n = x.count
    let blocks = (n + 3) / 4
    let (key, counter) = Random.with(.dropout) { stream in
        let start = stream.philox.counter
        stream.philox.counter &+= UInt64(blocks)
        return (stream.philox.key, start)
    }
    let xc = x.contiguous()
    let mask = Tensor(uninitializedShape: x.shape), out = Tensor(uninitializedShape: x.shape)
    let xp = xc.pointer, mp = mask.pointer, yp = out.pointer
    withExtendedLifetime(xc) {
        // Ranges start on block boundaries (multiples of 4 elements); each range is
        // handled in cache-sized pieces: mask, then product.
        Parallel.forRanges(blocks, minChunk: elementwiseChunk / 4) { r in
            let end = min(n, r.upperBound * 4)
            var i = r.lowerBound * 4
            while i < end {
                let count = min(4096, end - i)
                ck_dropout_mask(key, counter, i, count, keep, scale, mp + i)
                ck_multiply(xp + i, mp + i, yp + i, count)
                i += count
            }
        }
    }
    return out.recorded("dropout", inputs: [x]) { g in
        let gc = g.contiguous()
        let dx = Tensor(uninitializedShape: mask.shape)
        let gp = gc.pointer, mp = mask.pointer, dp = dx.pointer
        withExtendedLifetime((gc, mask)) {
            Parallel.forRanges(n, minChunk: elementwiseChunk) { r in
                let o = r.lowerBound
                ck_multiply(gp + o, mp + o, dp + o, r.count)
            }
        }
        return [dx]
    }
}

/// Stochastic depth (timm's `drop_path`): in training each sample along the first axis
/// is dropped whole with probability p and kept samples are scaled by 1/(1 − p); used on
/// residual branches, where dropping a sample's branch skips the block for it.
/// One uniform per sample is drawn from the `.dropout` stream.
public func dropPath(_ x: Tensor, probability p: Float, training: Bool) throws -> Tensor {
    try checkProbability("drop_path", p)
    guard x.rank >= 1 else { throw TensorError("drop_path", "input of shape \(x.shape) has no sample axis") }
    if !training || p == 0 || x.count == 0 { return x }
    let keep = 1 - p
    let samples = x.shape[0], width = x.count / samples
    var factors = [Float](repeating: 0, count: samples)
    factors.withUnsafeMutableBufferPointer { f in
        Random.with(.dropout) { $0.fillUniform(f.baseAddress!, count: samples) }
        for i in 0..<samples { f[i] = f[i] < keep ? 1 / keep : 0 }
    }
    let xc = x.contiguous()
    let out = Tensor(uninitializedShape: x.shape)
    scaleSamples(xc, by: factors, into: out, width: width)
    return out.recorded("drop_path", inputs: [x]) { g in
        let dx = Tensor(uninitializedShape: out.shape)
        scaleSamples(g.contiguous(), by: factors, into: dx, width: width)
        return [dx]
    }
}

/// destination[i, ...] = source[i, ...]·factors[i], samples split across the workers.
private func scaleSamples(_ source: Tensor, by factors: [Float], into destination: Tensor, width: Int) {
    let sp = source.pointer, dp = destination.pointer
    withExtendedLifetime(source) {
        factors.withUnsafeBufferPointer { f in
            let fp = f.baseAddress!
            Parallel.forRanges(factors.count, minChunk: max(1, elementwiseChunk / max(width, 1))) { r in
                let o = r.lowerBound * width
                ck_scale_rows(sp + o, fp + r.lowerBound, dp + o, r.count, width)
            }
        }
    }
}

private func checkProbability(_ op: String, _ p: Float) throws {
    guard p >= 0 && p <= 1 else { throw TensorError(op, "probability \(p) is outside [0, 1]") }
}
