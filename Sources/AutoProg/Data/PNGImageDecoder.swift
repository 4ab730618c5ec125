import Foundation

/// How the PNG-backed datasets (`ImageFolder`, `Gemojione`) turn one file into an example:
/// decoded, converted to `channels` (gray ↔ RGB, alpha composited onto `background`, see
/// `PNG.read`) and resized bilinearly to imageSize × imageSize (`transforms.Resize((s, s))`
/// without antialiasing) when it is not that size already.
struct PNGImageDecoder {
    let imageSize: Int
    let channels: Int
    let background: Float

    /// Throws, naming `source`, for a non-positive size or a channel count outside 1...4.
    init(imageSize: Int, channels: Int, background: Float, source: String) throws {
        guard imageSize > 0, (1...4).contains(channels) else {
            throw DatasetError(path: source, "imageSize \(imageSize) must be positive and channels \(channels) in 1...4")
        }
        self.imageSize = imageSize
        self.channels = channels
        self.background = background
    }

    var imageShape: [Int] { [channels, imageSize, imageSize] }

    /// Decodes `url` into `destination` (channels × imageSize × imageSize floats, row-major).
    func decode(_ url: URL, into destination: UnsafeMutablePointer<Float>) throws {
        let image = try PNG.read(url, channels: channels, background: background)
        let (h, w) = (image.shape[1], image.shape[2])
        let sized = h == imageSize && w == imageSize ? image
            : try resize(image.reshaped([1, channels, h, w]), height: imageSize, width: imageSize, mode: .bilinear)
        sized.contiguous().copyStrided(into: destination)
    }
}
