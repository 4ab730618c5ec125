import CKernels

/// Mean cross-entropy of logits [N, K] against class indices
/// (`torch.nn.functional.cross_entropy`, reduction "mean"), fused with log-softmax in
/// one kernel that keeps only each row's log-sum-exp for the backward.
/// With label smoothing ε the target distribution is (1 − ε)·onehot + ε/K, as torch's.
/// Every target must be in 0..<K (there is no ignore index).
public func crossEntropy(_ logits: Tensor, targets: [Int], labelSmoothing: Float = 0) throws -> Tensor {
    let (n, k) = try lossShape("cross_entropy", logits)
    guard targets.count == n else {
        throw TensorError("cross_entropy", "\(targets.count) targets for logits of shape \(logits.shape)")
    }
    if let bad = targets.firstIndex(where: { $0 < 0 || $0 >= k }) {
        throw TensorError("cross_entropy", "target \(targets[bad]) at index \(bad) is out of range for \(k) classes (logits \(logits.shape))")
    }
    guard labelSmoothing >= 0 && labelSmoothing <= 1 else {
        throw TensorError("cross_entropy", "label smoothing \(labelSmoothing) is outside [0, 1]")
    }
    let xc = logits.contiguous()
    let lse = Tensor(uninitializedShape: [n]), rowLoss = Tensor(uninitializedShape: [n])
    let xp = xc.pointer, lp = lse.pointer, rp = rowLoss.pointer
    withExtendedLifetime(xc) { targets.withUnsafeBufferPointer { t in
        let tp = t.baseAddress!
        Parallel.forRanges(n, minChunk: max(1, elementwiseChunk / k)) { r in
            let i = r.lowerBound
            ck_cross_entropy_forward(xp + i * k, tp + i, r.count, k, labelSmoothing, lp + i, rp + i)
        }
    } }
    let out = Tensor(scalar: Float(withExtendedLifetime(rowLoss) { ck_sum(rp, n) } / Double(n)))
    return out.recorded("cross_entropy", inputs: [logits]) { g in
        let scale = g.contiguous().pointer.pointee / Float(n)
        let dx = Tensor(uninitializedShape: [n, k])
        let dp = dx.pointer, xp = xc.pointer, lp = lse.pointer
        defer { withExtendedLifetime((xc, lse)) {} }
        targets.withUnsafeBufferPointer { t in
            let tp = t.baseAddress!
            Parallel.forRanges(n, minChunk: max(1, elementwiseChunk / k)) { r in
                let i = r.lowerBound
                ck_cross_entropy_backward(xp + i * k, tp + i, lp + i, r.count, k, labelSmoothing, scale, dp + i * k)
            }
        }
        return [dx]
    }
}

/// Mean cross-entropy against soft targets (`torch.nn.functional.cross_entropy` with
/// class probabilities): −Σ_k p_k·log softmax(x)_k per row, for mixup and cutmix.
/// The probabilities are treated as data: they receive no gradient.
public func crossEntropy(_ logits: Tensor, probabilities: Tensor) throws -> Tensor {
    let (n, k) = try lossShape("cross_entropy", logits)
    guard probabilities.shape == logits.shape else {
        throw TensorError.shapes("cross_entropy", logits.shape, probabilities.shape, "differ (logits and target probabilities)")
    }
    let xc = logits.contiguous(), pc = probabilities.contiguous()
    let lse = Tensor(uninitializedShape: [n]), rowLoss = Tensor(uninitializedShape: [n])
    let xp = xc.pointer, pp = pc.pointer, lp = lse.pointer, rp = rowLoss.pointer
    withExtendedLifetime((xc, pc)) {
        Parallel.forRanges(n, minChunk: max(1, elementwiseChunk / k)) { r in
            let o = r.lowerBound * k
            ck_soft_cross_entropy_forward(xp + o, pp + o, r.count, k, lp + r.lowerBound, rp + r.lowerBound)
        }
    }
    let out = Tensor(scalar: Float(withExtendedLifetime(rowLoss) { ck_sum(rp, n) } / Double(n)))
    return out.recorded("cross_entropy", inputs: [logits]) { g in
        let scale = g.contiguous().pointer.pointee / Float(n)
        let dx = Tensor(uninitializedShape: [n, k])
        let dp = dx.pointer, xp = xc.pointer, pp = pc.pointer, lp = lse.pointer
        defer { withExtendedLifetime((xc, pc, lse)) {} }
        Parallel.forRanges(n, minChunk: max(1, elementwiseChunk / k)) { r in
            let o = r.lowerBound * k
            ck_soft_cross_entropy_backward(xp + o, pp + o, lp + r.lowerBound, r.count, k, scale, dp + o)
        }
        return [dx]
    }
}

/// Mean of (a − b)² over all elements (`torch.nn.functional.mse_loss`, reduction
/// "mean"); both sides get gradients when they require them. Shapes must match exactly
/// (no broadcasting: a silently broadcast target is a classic diffusion-loss bug).
public func mseLoss(_ a: Tensor, _ b: Tensor) throws -> Tensor {
    guard a.shape == b.shape else { throw TensorError.shapes("mse_loss", a.shape, b.shape, "differ") }
    guard a.count > 0 else { throw TensorError("mse_loss", "inputs of shape \(a.shape) are empty") }
    let ac = a.contiguous(), bc = b.contiguous()
    let n = ac.count
    let ap = ac.pointer, bp = bc.pointer
    let parts = max(1, min(Parallel.threadCount, n / elementwiseChunk))
    var partial = [Double](repeating: 0, count: parts)
    withExtendedLifetime((ac, bc)) { partial.withUnsafeMutableBufferPointer { s in
        let sp = s.baseAddress!
        Parallel.forEach(parts) { p in
            let lo = n * p / parts, hi = n * (p + 1) / parts
            sp[p] = ck_sum_squared_difference(ap + lo, bp + lo, 0, hi - lo)
        }
    } }
    let out = Tensor(scalar: Float(partial.reduce(0, +) / Double(n)))
    let needA = a.requiresGrad, needB = b.requiresGrad
    return out.recorded("mse_loss", inputs: [a, b]) { g in
        let scale = 2 * g.contiguous().pointer.pointee / Float(n)
        let da = needA ? Tensor(uninitializedShape: ac.shape) : nil
        let db = needB ? Tensor(uninitializedShape: bc.shape) : nil
        let dap = da?.pointer, dbp = db?.pointer, ap = ac.pointer, bp = bc.pointer
        defer { withExtendedLifetime((ac, bc)) {} }
        Parallel.forRanges(n, minChunk: elementwiseChunk) { r in
            let o = r.lowerBound
            ck_mse_backward(ap + o, bp + o, r.count, scale, dap.map { $0 + o }, dbp.map { $0 + o })
        }
        return [da, db]
    }
}

/// True when a loss (or any tensor) holds only finite values: check it before
/// `backward()` to skip a step whose loss is NaN or ±inf instead of corrupting weights.
public func isFiniteLoss(_ loss: Tensor) -> Bool { !loss.hasNonFinite }

/// Validates logits [N, K] with N, K > 0.
private func lossShape(_ op: String, _ logits: Tensor) throws -> (Int, Int) {
    guard logits.rank == 2, logits.shape[0] > 0, logits.shape[1] > 0 else {
        throw TensorError(op, "logits of shape \(logits.shape) must be [N, K] with N, K > 0")
    }
    return (logits.shape[0], logits.shape[1])
}
