import CKernels

/// Average pooling over k×k windows of [B, C, H, W] (`torch.nn.functional.avg_pool2d`
/// with padding 0, ceil_mode False): output [B, C, (H − k)/s + 1, (W − k)/s + 1], stride s
/// defaulting to the kernel size. The backward spreads each gradient evenly over its window.
public func avgPool2d(_ x: Tensor, kernel: Int, stride: Int? = nil) throws -> Tensor {
    let op = "avgPool2d"
    guard x.rank == 4 else { throw TensorError(op, "input of shape \(x.shape) must be [B, C, H, W]") }
    let s = stride ?? kernel
    let (h, w) = (x.shape[2], x.shape[3])
    guard kernel >= 1, s >= 1 else { throw TensorError(op, "kernel \(kernel) and stride \(s) must be ≥ 1") }
    guard h >= kernel, w >= kernel else {
        throw TensorError(op, "kernel \(kernel) is larger than the input \(x.shape)")
    }
    let oh = (h - kernel) / s + 1, ow = (w - kernel) / s + 1
    let planes = x.shape[0] * x.shape[1]
    let xc = x.contiguous()
    let out = Tensor(uninitializedShape: [x.shape[0], x.shape[1], oh, ow])
    let (xp, yp) = (xc.pointer, out.pointer)
    let chunk = max(1, 16384 / max(1, h * w))
    Parallel.forRanges(planes, minChunk: chunk) { r in
        ck_avgpool_forward(xp + r.lowerBound * h * w, yp + r.lowerBound * oh * ow, r.count, h, w, kernel, s, oh, ow)
    }
    let xShape = x.shape
    return out.recorded(op, inputs: [x]) { g in
        let gc = g.contiguous()
        let dx = Tensor(uninitializedShape: xShape)
        let (gp, dp) = (gc.pointer, dx.pointer)
        Parallel.forRanges(planes, minChunk: chunk) { r in
            ck_avgpool_backward(gp + r.lowerBound * oh * ow, dp + r.lowerBound * h * w, r.count, h, w, kernel, s, oh, ow)
        }
        return [dx]
    }
}
