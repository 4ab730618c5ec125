/// Patch (un)folding between images and token sequences, as strided copies: each direction
/// reads the source through a 6-D view ordered like the destination and copies it densely.

/// Copies `source` seen with `shape`/`strides` (in elements, from its first element) into a
/// new dense tensor of `resultShape`.
private func gather(_ source: Tensor, shape: [Int], strides: [Int], resultShape: [Int]) -> Tensor {
    let view = Tensor(storage: source.storage, offset: source.offset, shape: shape, strides: strides)
    let out = Tensor(uninitializedShape: resultShape)
    view.copyStrided(into: out.pointer)
    return out
}

/// Splits [B, C, H, W] into non-overlapping p×p patches: [B, (H/p)·(W/p), C·p·p], patches in
/// row-major order and each flattened in (c, kh, kw) order, so that
/// `linear(patchify(x, patch: p), weight: w.reshaped([Cout, C·p·p]))` equals
/// `conv2d(x, weight: w, stride: p)` with tokens on the second axis (timm's PatchEmbed,
/// `proj(x).flatten(2).transpose(1, 2)`).
public func patchify(_ x: Tensor, patch p: Int) throws -> Tensor {
    guard x.rank == 4 else { throw TensorError("patchify", "input of shape \(x.shape) must be [B, C, H, W]") }
    let (b, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    guard p >= 1, h % p == 0, w % p == 0 else {
        throw TensorError("patchify", "patch size \(p) does not divide the image size \(h)×\(w) of \(x.shape)")
    }
    let (hp, wp) = (h / p, w / p)
    let xc = x.contiguous()
    // Source read in destination order [B, Hp, Wp, C, p, p].
    let out = gather(xc, shape: [b, hp, wp, c, p, p], strides: [c * h * w, p * w, p, h * w, w, 1],
                     resultShape: [b, hp * wp, c * p * p])
    let xShape = x.shape
    return out.recorded("patchify", inputs: [x]) { g in
        let gc = g.contiguous()
        let f = c * p * p
        // Gradient [B, T, C·p·p] read in image order [B, C, Hp, p, Wp, p].
        return [gather(gc, shape: [b, c, hp, p, wp, p], strides: [hp * wp * f, p * p, wp * f, p, f, 1],
                       resultShape: xShape)]
    }
}

/// Reassembles tokens [B, T, p·p·C] into images [B, C, H, W] in facebookresearch/DiT's
/// `unpatchify` order: token t = i·(W/p) + j holds its patch as (p, q, c), i.e.
/// `torch.einsum('nhwpqc->nchpwq')`. Note this per-token order differs from `patchify`'s
/// (c, kh, kw): DiT's final layer emits (p, q, c).
public func unpatchify(_ x: Tensor, patch p: Int, channels: Int, height: Int, width: Int) throws -> Tensor {
    let op = "unpatchify"
    guard x.rank == 3 else { throw TensorError(op, "input of shape \(x.shape) must be [B, T, p·p·C]") }
    guard p >= 1, channels >= 1, height % p == 0, width % p == 0 else {
        throw TensorError(op, "patch size \(p) does not divide the image size \(height)×\(width)")
    }
    let (hp, wp) = (height / p, width / p)
    let b = x.shape[0], f = p * p * channels
    guard x.shape[1] == hp * wp, x.shape[2] == f else {
        throw TensorError(op, "input \(x.shape) must be [\(b), \(hp * wp), \(f)] for \(channels) channels, "
                          + "\(height)×\(width) images and patch \(p)")
    }
    let xc = x.contiguous()
    // Tokens read in image order [B, C, Hp, p, Wp, q].
    let out = gather(xc, shape: [b, channels, hp, p, wp, p],
                     strides: [hp * wp * f, 1, wp * f, p * channels, f, channels],
                     resultShape: [b, channels, height, width])
    let xShape = x.shape
    return out.recorded(op, inputs: [x]) { g in
        let gc = g.contiguous()
        // Image gradient read in token order [B, Hp, Wp, p, q, C].
        return [gather(gc, shape: [b, hp, wp, p, p, channels],
                       strides: [channels * height * width, p * width, p, width, 1, height * width],
                       resultShape: xShape)]
    }
}
