import AutoProg

/// The fused kernels of a ViT-tiny training step at their real shapes (batch 128 ×
/// 50 tokens, width 192): forward alone and forward + backward, with the memory
/// bandwidth the forward reaches (bytes read + written once / time).
func benchmarkKernels() throws {
    let rows = 128 * 50, width = 192
    func report(_ name: String, bytes: Int, forward: () throws -> Tensor) throws {
        let fwd = try medianSeconds(runs: 20) { _ = try Autograd.withoutGradients(forward) }
        let both = try medianSeconds(runs: 20) {
            let y = try forward()
            try y.backward(gradient: Tensor.ones(y.shape))
        }
        printJSONLine([("name", name), ("forward_ms", fwd * 1000), ("forward_backward_ms", both * 1000),
                       ("forward_gb_per_s", Double(bytes) / fwd / 1e9), ("threads", Parallel.threadCount)])
    }
    let x = Tensor.randn([rows, width]).requiringGrad()
    let gamma = Tensor.ones([width]).requiringGrad(), beta = Tensor.zeros([width]).requiringGrad()
    try report("layer_norm", bytes: 8 * rows * width) { try layerNorm(x, weight: gamma, bias: beta, epsilon: 1e-6) }
    let h = Tensor.randn([rows, 4 * width]).requiringGrad()
    try report("gelu_erf", bytes: 8 * h.count) { gelu(h) }
    try report("gelu_tanh", bytes: 8 * h.count) { gelu(h, approximation: .tanh) }
    try report("silu", bytes: 8 * h.count) { silu(h) }
    try report("add_residual", bytes: 12 * x.count) { try x + x }
    try report("add_bias_row_broadcast", bytes: 8 * x.count) { try x + gamma }
    let scores = Tensor.randn([128 * 3 * 50, 50]).requiringGrad()
    try report("softmax_rows50", bytes: 8 * scores.count) { try softmax(scores) }
    let qkv = Tensor.randn([128, 50, 3 * width]).requiringGrad()
    try report("self_attention_h3", bytes: 4 * (qkv.count + x.count)) { try selfAttention(qkv: qkv, heads: 3) }
    let logits = Tensor.randn([128, 1000]).requiringGrad()
    let labels = (0..<128).map { $0 * 7 % 1000 }
    try report("cross_entropy_1000", bytes: 4 * logits.count) { try crossEntropy(logits, targets: labels, labelSmoothing: 0.1) }

    // One AdamW step over vit-tiny's parameter count, packed in one buffer.
    let parameters = [Parameter(Tensor.randn([5_353_738]))]
    let optimizer = try AdamW(parameters: parameters, learningRate: 1e-3)
    parameters[0].grad.pointer.update(repeating: 1e-3, count: parameters[0].count)
    let step = try medianSeconds(runs: 20) { try optimizer.step() }
    printJSONLine([("name", "adamw_5.35M"), ("step_ms", step * 1000),
                   ("gb_per_s", Double(4 * 7 * parameters[0].count) / step / 1e9), ("threads", Parallel.threadCount)])
}
