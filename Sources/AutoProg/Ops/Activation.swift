import CKernels

/// Which formula `gelu` uses (torch's `approximate="none"` / `"tanh"`).
public enum GELUApproximation: String, Sendable {
    /// x·Φ(x) with the exact normal CDF (via erf): BERT, ViT, DiT's MLPs.
    case none
    /// ½x(1 + tanh(√(2/π)(x + 0.044715x³))): GPT-2 and DiT's `approx_gelu`.
    case tanh
}

/// Elements per worker below which an elementwise kernel runs on one thread: a
/// dispatch costs about as much as 16K cheap elements.
let elementwiseChunk = 1 << 14

typealias UnaryKernel = @convention(c) (UnsafePointer<Float>?, UnsafeMutablePointer<Float>?, Int) -> Void
typealias GradientKernel =
    @convention(c) (UnsafePointer<Float>?, UnsafePointer<Float>?, UnsafeMutablePointer<Float>?, Int) -> Void

/// Applies `kernel` to `x` across the workers, then records a backward that calls
/// `gradient(saved, dy, dx)`, where `saved` is the input or, when `savesOutput`, the
/// output (cheaper for sigmoid and tanh, whose derivatives are functions of y).
private func elementwise(_ op: String, _ x: Tensor, _ kernel: UnaryKernel, savesOutput: Bool = false,
                         gradient: GradientKernel) -> Tensor {
    let xc = x.contiguous()
    let out = Tensor(uninitializedShape: x.shape)
    let src = xc.pointer, dst = out.pointer
    withExtendedLifetime(xc) {
        Parallel.forRanges(out.count, minChunk: elementwiseChunk) { r in
            kernel(src + r.lowerBound, dst + r.lowerBound, r.count)
        }
    }
    let saved = savesOutput ? out : xc
    return out.recorded(op, inputs: [x]) { g in
        let gc = g.contiguous()
        let dx = Tensor(uninitializedShape: saved.shape)
        let s = saved.pointer, dy = gc.pointer, d = dx.pointer
        withExtendedLifetime((saved, gc)) {
            Parallel.forRanges(dx.count, minChunk: elementwiseChunk) { r in
                gradient(s + r.lowerBound, dy + r.lowerBound, d + r.lowerBound, r.count)
            }
        }
        return [dx]
    }
}

/// Gaussian error linear unit (`torch.nn.functional.gelu`), exact (erf, |error| < 5e-7)
/// or tanh-approximated. The backward recomputes from the saved input, so only x is kept.
public func gelu(_ x: Tensor, approximation: GELUApproximation = .none) -> Tensor {
    switch approximation {
    case .none: elementwise("gelu", x, ck_gelu_erf_forward, gradient: ck_gelu_erf_backward)
    case .tanh: elementwise("gelu_tanh", x, ck_gelu_tanh_forward, gradient: ck_gelu_tanh_backward)
    }
}

/// x·σ(x) (`torch.nn.functional.silu`, a.k.a. swish): the UNet and DiT conditioning MLPs.
public func silu(_ x: Tensor) -> Tensor {
    elementwise("silu", x, ck_silu_forward, gradient: ck_silu_backward)
}

/// 1/(1 + e^{−x}) (`torch.sigmoid`); the backward uses the saved output, y(1 − y).
public func sigmoid(_ x: Tensor) -> Tensor {
    elementwise("sigmoid", x, ck_sigmoid_forward, savesOutput: true, gradient: ck_sigmoid_backward)
}

/// Hyperbolic tangent of every element (`torch.tanh`); the backward uses the saved
/// output, 1 − y². Overloads Foundation's `tanh` by argument type: `tanh(t)` for a
/// Tensor, `tanh(1.0)` for a number both resolve without qualification.
public func tanh(_ x: Tensor) -> Tensor {
    elementwise("tanh", x, ck_tanh_forward, savesOutput: true, gradient: ck_tanh_backward)
}

/// max(x, 0) (`torch.relu`); the gradient at 0 is 0, as in PyTorch.
public func relu(_ x: Tensor) -> Tensor {
    elementwise("relu", x, ck_relu_forward, gradient: ck_relu_backward)
}
