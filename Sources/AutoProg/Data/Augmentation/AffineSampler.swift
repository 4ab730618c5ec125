import Foundation

/// Bilinear resampling of [C, H, W] planes through an inverse affine map with zero fill
/// (PIL's `Image.transform(AFFINE, resample=BILINEAR)` / torchvision's `affine` with
/// fill 0): output pixel (x, y) reads the input at
/// (a·x + b·y + c, d·x + e·y + f), in pixel-index coordinates.
struct AffineSampler {
    var a, b, c, d, e, f: Double

    /// Rotation by `degrees` counter-clockwise (as `PIL.Image.rotate`) about the image
    /// center ((W−1)/2, (H−1)/2 in pixel indices, the same point as PIL's (W/2, H/2) in
    /// corner coordinates).
    static func rotation(degrees: Double, height: Int, width: Int) -> AffineSampler {
        let t = degrees * Double.pi / 180
        let (cs, sn) = (cos(t), sin(t))
        let (cx, cy) = (Double(width - 1) / 2, Double(height - 1) / 2)
        // source = center + R(θ)ᵀ-style map of (dst − center), so content turns counter-clockwise on screen (y down).
        return AffineSampler(a: cs, b: -sn, c: cx - cs * cx + sn * cy,
                             d: sn, e: cs, f: cy - sn * cx - cs * cy)
    }

    /// Resamples `channels` planes of height×width from `src` into `dst`.
    func sample(_ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>, channels: Int, height: Int, width: Int) {
        for y in 0..<height {
            for x in 0..<width {
                let sx = a * Double(x) + b * Double(y) + c, sy = d * Double(x) + e * Double(y) + f
                let x0 = Int(sx.rounded(.down)), y0 = Int(sy.rounded(.down))
                let fx = Float(sx - Double(x0)), fy = Float(sy - Double(y0))
                let w00 = (1 - fx) * (1 - fy), w10 = fx * (1 - fy), w01 = (1 - fx) * fy, w11 = fx * fy
                let inX0 = x0 >= 0 && x0 < width, inX1 = x0 + 1 >= 0 && x0 + 1 < width
                let inY0 = y0 >= 0 && y0 < height, inY1 = y0 + 1 >= 0 && y0 + 1 < height
                for ch in 0..<channels {
                    let plane = src + ch * height * width
                    var v: Float = 0
                    if inY0 && inX0 && w00 != 0 { v += w00 * plane[y0 * width + x0] }
                    if inY0 && inX1 && w10 != 0 { v += w10 * plane[y0 * width + x0 + 1] }
                    if inY1 && inX0 && w01 != 0 { v += w01 * plane[(y0 + 1) * width + x0] }
                    if inY1 && inX1 && w11 != 0 { v += w11 * plane[(y0 + 1) * width + x0 + 1] }
                    dst[(ch * height + y) * width + x] = v
                }
            }
        }
    }
}
