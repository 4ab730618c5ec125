import Foundation

/// Replaces a random rectangle of each image, with probability `probability`, by
/// per-pixel N(0, 1) noise (timm's `RandomErasing(probability, mode='pixel',
/// max_count=1)`, as DeiT uses with `--reprob 0.25`; applied after normalisation, where
/// N(0, 1) matches the data's scale).
///
/// The rectangle is timm's: up to 10 tries of an area fraction U(scale) and a
/// log-uniform aspect ratio, kept when strictly smaller than the image on both sides;
/// when no try fits, the image is left unchanged.
public struct RandomErasing: ImageTransform {
    public let probability: Float
    public let scale: ClosedRange<Float>
    public let ratio: ClosedRange<Float>

    public init(probability: Float = 0.25, scale: ClosedRange<Float> = 0.02...(1.0 / 3),
                ratio: ClosedRange<Float> = 0.3...3.3) {
        self.probability = probability
        self.scale = scale
        self.ratio = ratio
    }

    /// The erased rectangle for an image of height×width, or nil when the image is kept.
    public func box(height: Int, width: Int, random: inout RandomStream) -> RandomResizedCrop.Box? {
        if random.nextFloat() > probability { return nil }
        let area = Float(height * width)
        let logRatio = Float(Foundation.log(Double(ratio.lowerBound)))...Float(Foundation.log(Double(ratio.upperBound)))
        for _ in 0..<10 {
            let targetArea = random.nextUniform(in: scale) * area
            let aspect = Float(Foundation.exp(Double(random.nextUniform(in: logRatio))))
            let h = Int((targetArea * aspect).squareRoot().rounded(.toNearestOrEven))
            let w = Int((targetArea / aspect).squareRoot().rounded(.toNearestOrEven))
            if w < width, h < height {
                let top = random.nextInt(in: 0...(height - h)), left = random.nextInt(in: 0...(width - w))
                return RandomResizedCrop.Box(top: top, left: left, height: h, width: w)
            }
        }
        return nil
    }

    public func transform(_ image: Tensor, random: inout RandomStream) throws -> Tensor {
        guard image.rank == 3 else { throw TensorError("RandomErasing", "image of shape \(image.shape) must be [C, H, W]") }
        guard scale.lowerBound >= 0, ratio.lowerBound > 0 else {
            throw TensorError("RandomErasing", "scale \(scale) must be non-negative and ratio \(ratio) positive")
        }
        let (c, h, w) = (image.shape[0], image.shape[1], image.shape[2])
        let out = Tensor(uninitializedShape: image.shape)
        out.pointer.update(from: image.contiguous().pointer, count: image.count)
        guard let b = box(height: h, width: w, random: &random), b.height > 0, b.width > 0 else { return out }
        var noise = [Float](repeating: 0, count: c * b.height * b.width)
        noise.withUnsafeMutableBufferPointer { random.fillNormal($0.baseAddress!, count: $0.count) }
        for ch in 0..<c {
            for y in 0..<b.height {
                let row = out.pointer + (ch * h + b.top + y) * w + b.left
                for x in 0..<b.width { row[x] = noise[(ch * b.height + y) * b.width + x] }
            }
        }
        return out
    }
}
