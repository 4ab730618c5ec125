import Foundation

/// Images in one sub-folder per class (`torchvision.datasets.ImageFolder`): the sorted
/// sub-folder names are the classes, and each class's PNG files (sorted by name) are its
/// examples. Each image is decoded when loaded, converted to `channels` and resized to
/// imageSize × imageSize (`PNGImageDecoder`).
///
/// Decoding on demand keeps memory flat for large folders; the prefetching `DataLoader`
/// hides the cost behind training.
public final class ImageFolder: Dataset {
    public let directory: URL
    public var imageSize: Int { decoder.imageSize }
    public var channels: Int { decoder.channels }
    public var background: Float { decoder.background }
    public let classNames: [String]
    /// Every example's file and class, class by class.
    public let samples: [(url: URL, label: Int)]
    private let decoder: PNGImageDecoder

    public init(directory: URL, imageSize: Int, channels: Int = 3, background: Float = 1) throws {
        decoder = try PNGImageDecoder(imageSize: imageSize, channels: channels, background: background, source: directory.path)
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
        self.classNames = classes
        self.samples = samples
    }

    public var count: Int { samples.count }
    public var imageShape: [Int] { decoder.imageShape }

    public func load(_ indices: [Int], into images: UnsafeMutablePointer<Float>) throws -> [Int] {
        try checkIndices(indices, name: directory.path)
        let size = imageShape.reduce(1, *)
        for (k, i) in indices.enumerated() {
            try decoder.decode(samples[i].url, into: images + k * size)
        }
        return indices.map { samples[$0].label }
    }
}
