/// Mixup or CutMix of each batch with itself reversed, with smoothed soft targets
/// (timm's `Mixup(mixup_alpha, cutmix_alpha, switch_prob, mode='batch',
/// correct_lam=True, label_smoothing, num_classes)`, DeiT's defaults).
///
/// One λ per batch: with probability `switchProbability` CutMix with λ ~ Beta(cutmixAlpha,
/// cutmixAlpha), else Mixup with λ ~ Beta(mixupAlpha, mixupAlpha) (an alpha of 0
/// disables that mode). Sample i is paired with sample N−1−i (timm's `x.flip(0)`):
/// Mixup blends λ·x_i + (1−λ)·x_{N−1−i}; CutMix pastes a box of x_{N−1−i} whose side is
/// √(1−λ) of the image's around a uniform center, clipped to the image, and then sets
/// λ to the unpasted area fraction. Targets are λ·smooth(y_i) + (1−λ)·smooth(y_{N−1−i})
/// with smooth(y) = one-hot scaled to 1 − s + s/K on y and s/K elsewhere.
public struct MixupCutmix: BatchTransform {
    public let mixupAlpha: Float
    public let cutmixAlpha: Float
    public let switchProbability: Float
    public let labelSmoothing: Float
    public let classes: Int

    public init(mixupAlpha: Float = 0.8, cutmixAlpha: Float = 1.0, switchProbability: Float = 0.5,
                labelSmoothing: Float = 0.1, classes: Int) {
        self.mixupAlpha = mixupAlpha
        self.cutmixAlpha = cutmixAlpha
        self.switchProbability = switchProbability
        self.labelSmoothing = labelSmoothing
        self.classes = classes
    }

    /// What one batch does: λ, and the pasted box when it is CutMix.
    public struct Parameters: Equatable, Sendable {
        /// Weight of each sample's own image and target (after CutMix's area correction).
        public var lambda: Float
        /// The box pasted from the paired sample, or nil for Mixup.
        public var box: RandomResizedCrop.Box?
    }

    /// timm's `_params_per_batch` followed by `cutmix_bbox_and_lam` for height×width images.
    public func parameters(height: Int, width: Int, random: inout RandomStream) throws -> Parameters {
        guard mixupAlpha >= 0, cutmixAlpha >= 0, mixupAlpha > 0 || cutmixAlpha > 0 else {
            throw TensorError("MixupCutmix", "alphas \(mixupAlpha), \(cutmixAlpha) must be non-negative and not both 0")
        }
        let useCutmix = mixupAlpha > 0 && cutmixAlpha > 0 ? random.nextFloat() < switchProbability : cutmixAlpha > 0
        let alpha = Double(useCutmix ? cutmixAlpha : mixupAlpha)
        let lambda = Float(random.nextBeta(alpha, alpha))
        guard useCutmix else { return Parameters(lambda: lambda, box: nil) }
        let side = (1 - lambda).squareRoot()
        let (cutH, cutW) = (Int(Float(height) * side), Int(Float(width) * side))
        let cy = random.nextInt(below: height), cx = random.nextInt(below: width)
        let top = min(max(cy - cutH / 2, 0), height), bottom = min(max(cy + cutH / 2, 0), height)
        let left = min(max(cx - cutW / 2, 0), width), right = min(max(cx + cutW / 2, 0), width)
        let box = RandomResizedCrop.Box(top: top, left: left, height: bottom - top, width: right - left)
        return Parameters(lambda: 1 - Float(box.height * box.width) / Float(height * width), box: box)
    }

    public func apply(_ batch: Batch, random: inout RandomStream) throws -> AugmentedBatch {
        let x = batch.images.contiguous()
        guard x.rank == 4, x.shape[0] == batch.labels.count else {
            throw TensorError("MixupCutmix", "images of shape \(x.shape) must be [N, C, H, W] with N = \(batch.labels.count) labels")
        }
        guard x.shape[0] % 2 == 0 else { throw TensorError("MixupCutmix", "batch size \(x.shape[0]) must be even (timm pairs i with N-1-i)") }
        guard classes > 0, !batch.labels.contains(where: { $0 < 0 || $0 >= classes }) else {
            throw TensorError("MixupCutmix", "labels must be in 0..<\(classes)")
        }
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let p = try parameters(height: h, width: w, random: &random)
        let lambda = p.lambda
        let size = c * h * w
        let out = Tensor(uninitializedShape: x.shape)
        let (xp, op) = (x.pointer, out.pointer)
        op.update(from: xp, count: x.count)
        for i in 0..<n {
            let own = op + i * size, other = xp + (n - 1 - i) * size
            if let b = p.box {
                for ch in 0..<c {
                    for y in b.top..<(b.top + b.height) {
                        let row = (ch * h + y) * w + b.left
                        (own + row).update(from: other + row, count: b.width)
                    }
                }
            } else {
                for j in 0..<size { own[j] = lambda * own[j] + (1 - lambda) * other[j] }
            }
        }
        let off = labelSmoothing / Float(classes), on = 1 - labelSmoothing + off
        let targets = Tensor(uninitializedShape: [n, classes])
        let tp = targets.pointer
        for i in 0..<n {
            let row = tp + i * classes
            for k in 0..<classes { row[k] = off }
            row[batch.labels[i]] += lambda * (on - off)
            row[batch.labels[n - 1 - i]] += (1 - lambda) * (on - off)
        }
        return AugmentedBatch(images: out, labels: batch.labels, targets: targets)
    }
}
