import Foundation

/// A random crop of random area and aspect ratio, resized to size×size
/// (`torchvision.transforms.RandomResizedCrop(size, scale, ratio)`, the standard
/// ImageNet/DeiT training crop).
///
/// The box is torchvision's `get_params`: up to 10 tries of an area fraction
/// U(scale) and a log-uniform aspect ratio, keeping the first box that fits; otherwise
/// a center crop clamped to the ratio range. Sides round half to even, as Python's `round`. The crop is resized bilinearly with the
/// engine's `resize` (align_corners=False, no antialias — torchvision antialiases when
/// downscaling, so large downscales are slightly sharper here).
public struct RandomResizedCrop: ImageTransform {
    public let size: Int
    public let scale: ClosedRange<Float>
    public let ratio: ClosedRange<Float>

    public init(size: Int, scale: ClosedRange<Float> = 0.08...1, ratio: ClosedRange<Float> = 3.0 / 4...4.0 / 3) {
        self.size = size
        self.scale = scale
        self.ratio = ratio
    }

    /// A crop box in pixels: rows top..<top+height, columns left..<left+width.
    public struct Box: Equatable, Sendable {
        public var top: Int, left: Int, height: Int, width: Int
    }

    /// torchvision's `RandomResizedCrop.get_params` for an image of height×width.
    public func box(height: Int, width: Int, random: inout RandomStream) -> Box {
        let area = Float(height * width)
        let logRatio = Float(Foundation.log(Double(ratio.lowerBound)))...Float(Foundation.log(Double(ratio.upperBound)))
        for _ in 0..<10 {
            let targetArea = area * random.nextUniform(in: scale)
            let aspect = Float(Foundation.exp(Double(random.nextUniform(in: logRatio))))
            let w = Int((targetArea * aspect).squareRoot().rounded(.toNearestOrEven))
            let h = Int((targetArea / aspect).squareRoot().rounded(.toNearestOrEven))
            if w > 0, w <= width, h > 0, h <= height {
                let top = random.nextInt(in: 0...(height - h)), left = random.nextInt(in: 0...(width - w))
                return Box(top: top, left: left, height: h, width: w)
            }
        }
        let inRatio = Float(width) / Float(height)
        var (w, h) = (width, height)
        if inRatio < ratio.lowerBound {
            h = Int((Float(w) / ratio.lowerBound).rounded(.toNearestOrEven))
        } else if inRatio > ratio.upperBound {
            w = Int((Float(h) * ratio.upperBound).rounded(.toNearestOrEven))
        }
        return Box(top: (height - h) / 2, left: (width - w) / 2, height: h, width: w)
    }

    public func transform(_ image: Tensor, random: inout RandomStream) throws -> Tensor {
        guard image.rank == 3, image.shape[1] > 0, image.shape[2] > 0 else {
            throw TensorError("RandomResizedCrop", "image of shape \(image.shape) must be a non-empty [C, H, W]")
        }
        guard size > 0, scale.lowerBound > 0, scale.upperBound <= 1, ratio.lowerBound > 0 else {
            throw TensorError("RandomResizedCrop", "size \(size), scale \(scale), ratio \(ratio): need size > 0, scale in (0, 1], ratio > 0")
        }
        let (c, h, w) = (image.shape[0], image.shape[1], image.shape[2])
        let b = box(height: h, width: w, random: &random)
        let src = image.contiguous().pointer
        let crop = Tensor(uninitializedShape: [1, c, b.height, b.width])
        let dst = crop.pointer
        for ch in 0..<c {
            for y in 0..<b.height {
                (dst + (ch * b.height + y) * b.width).update(from: src + (ch * h + b.top + y) * w + b.left, count: b.width)
            }
        }
        let resized = try resize(crop, height: size, width: size, mode: .bilinear)
        return Tensor(storage: resized.storage, offset: resized.offset, shape: [c, size, size])
    }
}
