import Foundation

/// RandAugment (Cubuk et al. 2020) on float images in [0, 1] (`ToTensor` output, before
/// normalisation), following timm's `rand_augment_transform("rand-m{M}-n{N}-mstd{S}-inc1")`
/// as DeiT uses it (`rand-m9-mstd0.5-inc1`), restricted to operations that make sense on
/// float tensors.
///
/// Per image, `operations` times: pick an operation uniformly (with replacement), apply it
/// with probability `probability` (timm's 0.5), at magnitude M ~ N(magnitude,
/// magnitudeStd²) clipped to [0, 10] (exactly `magnitude` when the std is 0). Draws per
/// step are fixed — operation, apply-coin, magnitude noise (when std > 0), sign-coin — so
/// the stream position never depends on what was applied.
///
/// Magnitude → argument (timm's "increasing" level functions, m = M/10; ± is a fair coin):
/// - brightness, contrast: factor 1 ± 0.9·m (PIL `ImageEnhance`; contrast blends toward the
///   mean gray level), clamped to [0, 1]
/// - translateX/Y: ± 0.45·m of the width/height, rounded to whole pixels, zero fill
///   (timm's `TranslateXRel`; positive moves content left/up as PIL's affine offset)
/// - rotate: ± 30·m degrees (= ±M·3°), bilinear, zero fill (timm fills with the dataset mean)
/// - solarize: invert pixels with 255·x ≥ 256 − ⌊256·m⌋ (none at M = 0)
/// - posterize: keep the top 4 − ⌊4·m⌋ bits of the 8-bit value (4 bits at M = 0, as timm)
/// - autocontrast, equalize: no magnitude (per-channel min–max stretch; PIL's histogram
///   equalization on values quantised to 8 bits — the "lite" part)
/// - identity
public struct RandAugmentLite: ImageTransform {
    public enum Operation: String, CaseIterable, Sendable {
        case identity, brightness, contrast, translateX, translateY, rotate, solarize, posterize, autoContrast, equalize
    }

    public let operations: Int
    public let magnitude: Float
    public let magnitudeStd: Float
    public let probability: Float
    public let choices: [Operation]

    public init(operations: Int = 2, magnitude: Float, magnitudeStd: Float = 0, probability: Float = 0.5,
                choices: [Operation] = Operation.allCases) {
        self.operations = operations
        self.magnitude = magnitude
        self.magnitudeStd = magnitudeStd
        self.probability = probability
        self.choices = choices
    }

    public func transform(_ image: Tensor, random: inout RandomStream) throws -> Tensor {
        guard image.rank == 3 else { throw TensorError("RandAugmentLite", "image of shape \(image.shape) must be [C, H, W]") }
        guard operations >= 0, !choices.isEmpty, (0...10).contains(magnitude), magnitudeStd >= 0 else {
            throw TensorError("RandAugmentLite", "operations \(operations), magnitude \(magnitude), std \(magnitudeStd), "
                + "\(choices.count) choices: need operations ≥ 0, magnitude in 0...10, std ≥ 0, some choices")
        }
        var current = image.contiguous()
        var copied = false
        for _ in 0..<operations {
            let op = choices[random.nextInt(below: choices.count)]
            let apply = random.nextFloat() <= probability
            var m = magnitude
            if magnitudeStd > 0 { m = min(max(magnitude + magnitudeStd * Float(random.nextNormal()), 0), 10) }
            let negate = random.nextFloat() > 0.5
            if apply {
                current = try RandAugmentLite.apply(op, magnitude: m, negate: negate, to: current)
                copied = true
            }
        }
        if copied { return current }
        let out = Tensor(uninitializedShape: image.shape)
        out.pointer.update(from: current.pointer, count: image.count)
        return out
    }

    /// One operation at magnitude 0...10 (negated where the operation has a sign), as a fresh tensor.
    public static func apply(_ op: Operation, magnitude: Float, negate: Bool = false, to image: Tensor) throws -> Tensor {
        guard image.rank == 3 else { throw TensorError("RandAugmentLite", "image of shape \(image.shape) must be [C, H, W]") }
        let (c, h, w) = (image.shape[0], image.shape[1], image.shape[2])
        let plane = h * w
        let level = magnitude / 10
        let sign: Float = negate ? -1 : 1
        let src = image.contiguous().pointer
        let out = Tensor(uninitializedShape: image.shape)
        let dst = out.pointer
        let n = image.count
        func clamp01(_ v: Float) -> Float { min(max(v, 0), 1) }
        func byte(_ v: Float) -> Int { min(max(Int((v * 255).rounded()), 0), 255) }
        switch op {
        case .identity:
            dst.update(from: src, count: n)
        case .brightness:
            let factor = 1 + sign * 0.9 * level
            for i in 0..<n { dst[i] = clamp01(src[i] * factor) }
        case .contrast:
            let factor = 1 + sign * 0.9 * level
            var mean: Double = 0
            let weights: [Double] = c == 3 ? [0.299, 0.587, 0.114] : [Double](repeating: 1 / Double(c), count: c)
            for ch in 0..<c {
                var s: Double = 0
                for i in 0..<plane { s += Double(src[ch * plane + i]) }
                mean += weights[ch] * s / Double(max(plane, 1))
            }
            // PIL's Image.blend(gray mean, image, factor): exact at factor 1.
            let m = Float(mean) * (1 - factor)
            for i in 0..<n { dst[i] = clamp01(factor * src[i] + m) }
        case .translateX, .translateY:
            let horizontal = op == .translateX
            let shift = Int((sign * 0.45 * level * Float(horizontal ? w : h)).rounded())
            for ch in 0..<c {
                for y in 0..<h {
                    for x in 0..<w {
                        let sx = horizontal ? x + shift : x, sy = horizontal ? y : y + shift
                        dst[(ch * h + y) * w + x] = sx >= 0 && sx < w && sy >= 0 && sy < h ? src[(ch * h + sy) * w + sx] : 0
                    }
                }
            }
        case .rotate:
            AffineSampler.rotation(degrees: Double(sign * 30 * level), height: h, width: w)
                .sample(src, into: dst, channels: c, height: h, width: w)
        case .solarize:
            let threshold = Float(256 - Int(level * 256))
            for i in 0..<n { dst[i] = src[i] * 255 >= threshold ? 1 - src[i] : src[i] }
        case .posterize:
            let bits = 4 - Int(level * 4)
            let mask = ~((1 << (8 - bits)) - 1) & 0xFF
            for i in 0..<n { dst[i] = Float(byte(src[i]) & mask) / 255 }
        case .autoContrast:
            for ch in 0..<c {
                let p = src + ch * plane, q = dst + ch * plane
                var (lo, hi) = (Float.infinity, -Float.infinity)
                for i in 0..<plane { lo = min(lo, p[i]); hi = max(hi, p[i]) }
                let scale = hi > lo ? 1 / (hi - lo) : 0
                for i in 0..<plane { q[i] = hi > lo ? (p[i] - lo) * scale : p[i] }
            }
        case .equalize:
            for ch in 0..<c {
                let p = src + ch * plane, q = dst + ch * plane
                var histogram = [Int](repeating: 0, count: 256)
                for i in 0..<plane { histogram[byte(p[i])] += 1 }
                // PIL ImageOps.equalize: step = (total − count of the last used level) // 255.
                let last = histogram.lastIndex { $0 > 0 } ?? 0
                let step = (plane - histogram[last]) / 255
                if step == 0 {
                    for i in 0..<plane { q[i] = p[i] }
                    continue
                }
                var lut = [Float](repeating: 0, count: 256)
                var running = step / 2
                for v in 0..<256 {
                    lut[v] = Float(min(running / step, 255)) / 255
                    running += histogram[v]
                }
                for i in 0..<plane { q[i] = lut[byte(p[i])] }
            }
        }
        return out
    }
}
