import CPNG
import Foundation

/// PNG decoding and encoding through libpng's simplified API (`png_image_*`).
///
/// The simplified API runs every libpng call inside its own setjmp handler
/// (`png_safe_execute`), so a libpng error unwinds only libpng's frames and comes back
/// as a zero return with `warning_or_error` and `message` set; it never longjmps
/// through Swift. Palette images (with or without tRNS transparency) are expanded to
/// RGB or RGBA by libpng; everything else is converted here so that the values match
/// what PIL + `torchvision.transforms.ToTensor()` give.
public enum PNG {
    /// Decodes the PNG file at `url` to [C, H, W] floats in [0, 1].
    ///
    /// `channels` nil keeps the stored layout (gray 1, gray+alpha 2, RGB 3, RGBA 4;
    /// palette → RGB, or RGBA when it has tRNS); otherwise the image is converted to that
    /// many channels, compositing a dropped alpha onto `background` (see
    /// `ChannelConversion`). 8-bit files decode exactly to byte / 255. 16-bit files decode
    /// to value / 65535 (libpng delivers 16-bit data as linear with premultiplied alpha,
    /// which for files without a gAMA chunk are the stored values; alpha is divided out).
    public static func read(_ url: URL, channels: Int? = nil, background: Float = 1) throws -> Tensor {
        if let channels, !(1...4).contains(channels) {
            throw PNGError(path: url.path, "cannot convert to \(channels) channels (1, 2, 3 or 4)")
        }
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw PNGError(path: url.path, "cannot read the file: \((error as NSError).localizedDescription)")
        }
        let (stored, storedChannels) = try decode(data, path: url.path)
        let target = channels ?? storedChannels
        if target == storedChannels { return stored }
        let (h, w) = (stored.shape[1], stored.shape[2])
        let out = Tensor(uninitializedShape: [target, h, w])
        ChannelConversion.convert(stored.pointer, channels: storedChannels, to: out.pointer, channels: target,
                                  plane: h * w, background: background)
        return out
    }

    /// Decodes PNG bytes to [C, H, W] in the stored channel layout; `path` names the source in errors.
    static func decode(_ data: Data, path: String?) throws -> (Tensor, channels: Int) {
        try data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) -> (Tensor, channels: Int) in
            guard let base = bytes.baseAddress, bytes.count > 0 else { throw PNGError(path: path, "empty file") }
            var image = png_image()
            image.version = UInt32(PNG_IMAGE_VERSION)
            defer { png_image_free(&image) }
            guard png_image_begin_read_from_memory(&image, base, bytes.count) != 0, !failed(image) else {
                throw PNGError(path: path, "not a readable PNG: \(message(image))")
            }
            let storedFormat = image.format
            let color = storedFormat & UInt32(PNG_FORMAT_FLAG_COLOR) != 0
            let alpha = storedFormat & UInt32(PNG_FORMAT_FLAG_ALPHA) != 0
            let wide = storedFormat & UInt32(PNG_FORMAT_FLAG_LINEAR) != 0
            let channels = (color ? 3 : 1) + (alpha ? 1 : 0)
            // Ask for the stored layout without colour-mapping: libpng expands palettes.
            image.format = (color ? UInt32(PNG_FORMAT_FLAG_COLOR) : 0) | (alpha ? UInt32(PNG_FORMAT_FLAG_ALPHA) : 0)
                | (wide ? UInt32(PNG_FORMAT_FLAG_LINEAR) : 0)
            let (h, w) = (Int(image.height), Int(image.width))
            let n = h * w
            guard n > 0, n <= 1 << 28 else { throw PNGError(path: path, "implausible size \(w)×\(h)") }
            let out = Tensor(uninitializedShape: [channels, h, w])
            let dst = out.pointer
            if wide {
                var buffer = [UInt16](repeating: 0, count: n * channels)
                guard png_image_finish_read(&image, nil, &buffer, 0, nil) != 0, !failed(image) else {
                    throw PNGError(path: path, "corrupt image data: \(message(image))")
                }
                let colors = channels - (alpha ? 1 : 0)
                for i in 0..<n {
                    let px = i * channels
                    let a: Float = alpha ? Float(buffer[px + colors]) / 65535 : 1
                    for c in 0..<colors {
                        // Undo libpng's premultiplication; a fully transparent pixel has no colour.
                        let v = Float(buffer[px + c]) / 65535
                        dst[c * n + i] = alpha ? (a > 0 ? min(v / a, 1) : 0) : v
                    }
                    if alpha { dst[colors * n + i] = a }
                }
            } else {
                var buffer = [UInt8](repeating: 0, count: n * channels)
                guard png_image_finish_read(&image, nil, &buffer, 0, nil) != 0, !failed(image) else {
                    throw PNGError(path: path, "corrupt image data: \(message(image))")
                }
                for c in 0..<channels {
                    let plane = dst + c * n
                    for i in 0..<n { plane[i] = byteToUnit[Int(buffer[i * channels + c])] }
                }
            }
            return (out, channels)
        }
    }

    /// Encodes [C, H, W] (C = 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA) or [H, W] as an 8-bit
    /// PNG (`torchvision.utils.save_image` without the grid): values are clamped to
    /// [0, 1] and rounded to the nearest of the 256 levels (NaN becomes 0).
    public static func encode(_ image: Tensor) throws -> Data {
        let x = image.rank == 2 ? try image.contiguous().reshaped([1] + image.shape) : image.contiguous()
        guard x.rank == 3, (1...4).contains(x.shape[0]), x.shape[1] > 0, x.shape[2] > 0 else {
            throw TensorError("PNG.encode", "image of shape \(image.shape) must be [C, H, W] with C in 1...4, or [H, W]")
        }
        let (channels, h, w) = (x.shape[0], x.shape[1], x.shape[2])
        guard h < 1 << 24, w < 1 << 24 else { throw TensorError("PNG.encode", "image of shape \(image.shape) is too large") }
        let n = h * w
        var pixels = [UInt8](repeating: 0, count: n * channels)
        let src = x.pointer
        for c in 0..<channels {
            let plane = src + c * n
            for i in 0..<n {
                let v = plane[i]
                pixels[i * channels + c] = v > 0 ? UInt8((min(v, 1) * 255).rounded()) : 0
            }
        }
        let (color, alpha) = ChannelConversion.layout(channels)
        let format = (color ? UInt32(PNG_FORMAT_FLAG_COLOR) : 0) | (alpha ? UInt32(PNG_FORMAT_FLAG_ALPHA) : 0)
        var capacity = pixels.count + pixels.count / 4 + 4096
        for _ in 0..<2 {
            var header = png_image()
            header.version = UInt32(PNG_IMAGE_VERSION)
            header.width = UInt32(w)
            header.height = UInt32(h)
            header.format = format
            var output = Data(count: capacity)
            var size = capacity
            let ok = output.withUnsafeMutableBytes { out in
                png_image_write_to_memory(&header, out.baseAddress, &size, 0, pixels, 0, nil) != 0
            }
            let error = message(header), hasError = failed(header)
            png_image_free(&header)
            if ok, !hasError {
                output.count = size
                return output
            }
            // A grown size means only our buffer was too small; anything else is an error.
            guard size > capacity else { throw PNGError(path: nil, "libpng could not encode \(image.shape): \(error)") }
            capacity = size
        }
        throw PNGError(path: nil, "libpng kept asking for a larger buffer encoding \(image.shape)")
    }

    /// Writes `image` as a PNG file, atomically (see `encode` and `AtomicFile`).
    public static func write(_ image: Tensor, to url: URL) throws {
        try AtomicFile.write(encode(image), to: url)
    }

    /// Byte → float exactly as `ToTensor` (x / 255), by table.
    static let byteToUnit: [Float] = (0..<256).map { Float($0) / 255 }

    /// `PNG_IMAGE_FAILED`: the error bit (warnings alone are fine).
    private static func failed(_ image: png_image) -> Bool { image.warning_or_error & 0x03 > 1 }

    private static func message(_ image: png_image) -> String {
        var m = image.message
        let text = withUnsafeBytes(of: &m) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        return text.isEmpty ? "unknown libpng error" : text
    }
}
