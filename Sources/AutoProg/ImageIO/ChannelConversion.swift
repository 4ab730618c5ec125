/// Converting planar images between gray, gray+alpha, RGB and RGBA, as PIL's
/// `Image.convert` does after decoding: gray → RGB copies the plane, RGB → gray takes
/// ITU-R 601-2 luma (0.299 R + 0.587 G + 0.114 B), a missing alpha is opaque, and a
/// dropped alpha is composited onto a uniform background (c·a + background·(1 − a), in
/// the stored sRGB values as PIL's `alpha_composite` and most pipelines do).
enum ChannelConversion {
    /// Whether a channel count carries colour and alpha (1 = L, 2 = LA, 3 = RGB, 4 = RGBA).
    static func layout(_ channels: Int) -> (color: Bool, alpha: Bool) {
        (channels >= 3, channels == 2 || channels == 4)
    }

    /// Converts `plane`-sized planes from `input` channels at `src` to `output` channels at `dst`.
    static func convert(_ src: UnsafePointer<Float>, channels input: Int, to dst: UnsafeMutablePointer<Float>,
                        channels output: Int, plane n: Int, background: Float) {
        let (inColor, inAlpha) = layout(input)
        let (outColor, outAlpha) = layout(output)
        let colorIn = inColor ? 3 : 1, colorOut = outColor ? 3 : 1
        let alpha: UnsafePointer<Float>? = inAlpha ? src + colorIn * n : nil
        // Colour planes first, composited when alpha is dropped.
        for c in 0..<colorOut {
            let out = dst + c * n
            if inColor == outColor {
                out.update(from: src + c * n, count: n)
            } else if inColor {
                let (r, g, b) = (src, src + n, src + 2 * n)
                for i in 0..<n { out[i] = 0.299 * r[i] + 0.587 * g[i] + 0.114 * b[i] }
            } else {
                out.update(from: src, count: n)
            }
            if let alpha, !outAlpha {
                for i in 0..<n { out[i] = out[i] * alpha[i] + background * (1 - alpha[i]) }
            }
        }
        if outAlpha {
            let out = dst + colorOut * n
            if let alpha { out.update(from: alpha, count: n) } else { out.update(repeating: 1, count: n) }
        }
    }
}
