/// Mirrors each image left–right with probability `probability`
/// (`torchvision.transforms.RandomHorizontalFlip(p)`). One uniform is drawn per sample
/// whether or not it flips, so later draws do not depend on earlier outcomes' count.
public struct RandomHorizontalFlip: ImageTransform {
    public let probability: Float

    public init(probability: Float = 0.5) {
        self.probability = probability
    }

    public func transform(_ image: Tensor, random: inout RandomStream) throws -> Tensor {
        guard image.rank == 3 else {
            throw TensorError("RandomHorizontalFlip", "image of shape \(image.shape) must be [C, H, W]")
        }
        let flip = random.nextFloat() < probability
        let src = image.contiguous()
        let out = Tensor(uninitializedShape: image.shape)
        let (sp, dp) = (src.pointer, out.pointer)
        let w = image.shape[2], rows = image.shape[0] * image.shape[1]
        if !flip {
            dp.update(from: sp, count: image.count)
            return out
        }
        for r in 0..<rows {
            let s = sp + r * w, d = dp + r * w
            for x in 0..<w { d[x] = s[w - 1 - x] }
        }
        return out
    }
}
