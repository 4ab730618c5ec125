import Foundation

/// Images in one sub-folder per class (`torchvision.datasets.ImageFolder`): the sorted
/// sub-folder names are the classes, and each class's PNG files (sorted by name) are its
/// examples. Each image is decoded when loaded, converted to `channels` (gray ↔ RGB,
/// alpha composited onto `background`, see `PNG.read`) and resized bilinearly to
/// imageSize × imageSize (`transforms.Resize((s, s))` without antialiasing).
///
/// Decoding on demand keeps memory flat for large folders; the prefetching `DataLoader`
/// hides the cost behind training.
public final class ImageFolder: Dataset {
    public let directory: URL
    public let imageSize: Int
    public let channels: Int
    public let background: Float
    public let classNames: [String]
    /// Every example's file and class, class by class.
    public let samples: [(url: URL, label: Int)]

    public init(directory: URL, imageSize: Int, channels: Int = 3, background: Float = 1) throws {
        guard imageSize > 0, (1...4).contains(channels) else {
            throw DatasetError(path: directory.path, "imageSize \(imageSize) must be positive and channels \(channels) in 1...4")
        }
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw DatasetError(path: directory.path, "image folder not found")
        }
        func visibleEntries(_ url: URL) throws -> [String] {
            try fm.contentsOfDirectory(atPath: url.path).filter { !$0.hasPrefix(".") }.sorted()
        }
        let classes = try visibleEntries(directory).filter { name in
            var isDir: ObjCBool = false
            return fm.fileExists(atPath: directory.appendingPathComponent(name).path, isDirectory: &isDir) && isDir.boolValue
        }
        var samples: [(url: URL, label: Int)] = []
        for (label, name) in classes.enumerated() {
            let folder = directory.appendingPathComponent(name, isDirectory: true)
            for file in try visibleEntries(folder) where file.lowercased().hasSuffix(".png") {
                samples.append((folder.appendingPathComponent(file), label))
            }
        }
        guard !samples.isEmpty else {
            throw DatasetError(path: directory.path, "no PNG images in class sub-folders (expected <class>/<image>.png)")
        }
        self.directory = directory
        self.imageSize = imageSize
        self.channels = channels
        self.background = background
        self.classNames = classes
        self.samples = samples
    }

    public var count: Int { samples.count }
    public var imageShape: [Int] { [channels, imageSize, imageSize] }

    public func load(_ indices: [Int], into images: UnsafeMutablePointer<Float>) throws -> [Int] {
        try checkIndices(indices, name: directory.path)
        let size = channels * imageSize * imageSize
        for (k, i) in indices.enumerated() {
            let url = samples[i].url
            let image = try PNG.read(url, channels: channels, background: background)
            let (h, w) = (image.shape[1], image.shape[2])
            let sized = h == imageSize && w == imageSize ? image
                : try resize(image.reshaped([1, channels, h, w]), height: imageSize, width: imageSize, mode: .bilinear)
            sized.contiguous().copyStrided(into: images + k * size)
        }
        return indices.map { samples[$0].label }
    }
}
