import Foundation

/// Fashion-MNIST (Xiao et al. 2017): 28×28 grayscale clothing images in 10 classes, 60,000
/// for training and 10,000 for testing (`torchvision.datasets.FashionMNIST` with
/// `transforms.ToTensor()`: pixels / 255 in [0, 1], shape [1, 28, 28]).
///
/// The files come from Debian's `dataset-fashion-mnist` package (gzip'd IDX). The raw
/// bytes stay in memory (47 MB for the training split) and are converted to floats per
/// batch in `load`, which is four times smaller than holding floats and costs nothing
/// measurable next to a training step.
public final class FashionMNIST: Dataset {
    public enum Split: String, Sendable { case train, test }

    /// `/usr/share/datasets/fashion-mnist`, or `$AUTOPROG_FASHION_MNIST` when set.
    public static let defaultDirectory: URL = {
        if let dir = ProcessInfo.processInfo.environment["AUTOPROG_FASHION_MNIST"], !dir.isEmpty {
            return URL(fileURLWithPath: dir, isDirectory: true)
        }
        return URL(fileURLWithPath: "/usr/share/datasets/fashion-mnist", isDirectory: true)
    }()

    /// torchvision's `FashionMNIST.classes`.
    public static let classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                 "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]

    public let split: Split
    public let count: Int
    public let imageShape: [Int]
    public var classNames: [String] { FashionMNIST.classes }
    private let pixels: [UInt8]
    let labelBytes: [UInt8]

    public init(split: Split, directory: URL = defaultDirectory) throws {
        self.split = split
        let prefix = split == .train ? "train" : "t10k"
        let imagesURL = directory.appendingPathComponent("\(prefix)-images-idx3-ubyte.gz")
        let labelsURL = directory.appendingPathComponent("\(prefix)-labels-idx1-ubyte.gz")
        for url in [imagesURL, labelsURL] where !FileManager.default.fileExists(atPath: url.path) {
            let what = FileManager.default.fileExists(atPath: directory.path) ? url.path : directory.path
            throw DatasetError(path: url.path, "Fashion-MNIST not found (\(what) does not exist); install the Debian package "
                + "dataset-fashion-mnist (sudo apt-get install dataset-fashion-mnist) or set AUTOPROG_FASHION_MNIST "
                + "to a directory holding \(imagesURL.lastPathComponent) and \(labelsURL.lastPathComponent)")
        }
        let images = try IDXFile(contentsOf: imagesURL, rank: 3)
        let labels = try IDXFile(contentsOf: labelsURL, rank: 1)
        let n = images.dimensions[0]
        guard images.dimensions[1] > 0, images.dimensions[2] > 0 else {
            throw DatasetError(path: imagesURL.path, "empty images of size \(images.dimensions[1])×\(images.dimensions[2])")
        }
        guard labels.dimensions[0] == n else {
            throw DatasetError(path: labelsURL.path, "\(labels.dimensions[0]) labels for \(n) images in \(imagesURL.path)")
        }
        if let i = labels.bytes.firstIndex(where: { $0 >= FashionMNIST.classes.count }) {
            throw DatasetError(path: labelsURL.path, "label \(labels.bytes[i]) of example \(i) is not a class in 0..<\(FashionMNIST.classes.count)")
        }
        self.count = n
        self.imageShape = [1, images.dimensions[1], images.dimensions[2]]
        self.pixels = images.bytes
        self.labelBytes = labels.bytes
    }

    /// Byte → float exactly as `ToTensor` (x / 255), by table.
    private static let byteToUnit: [Float] = (0..<256).map { Float($0) / 255 }

    public func load(_ indices: [Int], into images: UnsafeMutablePointer<Float>) throws -> [Int] {
        try checkIndices(indices, name: "Fashion-MNIST \(split.rawValue)")
        let size = imageShape[1] * imageShape[2]
        pixels.withUnsafeBufferPointer { src in
            FashionMNIST.byteToUnit.withUnsafeBufferPointer { table in
                for (k, i) in indices.enumerated() {
                    let from = src.baseAddress! + i * size, to = images + k * size
                    for j in 0..<size { to[j] = table[Int(from[j])] }
                }
            }
        }
        return indices.map { Int(labelBytes[$0]) }
    }
}
