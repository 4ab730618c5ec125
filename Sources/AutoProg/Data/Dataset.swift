/// One mini-batch: images stacked as [B, C, H, W], their class labels, and the dataset
/// indices they came from (for logging, debugging and exact-resume checks).
public struct Batch {
    public let images: Tensor
    public let labels: [Int]
    public let indices: [Int]

    public init(images: Tensor, labels: [Int], indices: [Int]) {
        self.images = images
        self.labels = labels
        self.indices = indices
    }
}

/// A labelled image dataset with random access (`torch.utils.data.Dataset` with a batched
/// `__getitems__`).
///
/// `load` writes straight into the caller's buffer so that a loader fills one freshly
/// allocated batch tensor with no per-example tensors in between. The prefetching
/// `DataLoader` calls `load` from a background thread, and several loaders may share one
/// dataset, so `load` must be safe to call concurrently (the datasets here are immutable
/// after `init`).
public protocol Dataset: AnyObject {
    var count: Int { get }
    /// [C, H, W] of every example.
    var imageShape: [Int] { get }
    var classNames: [String] { get }
    /// Writes the examples at `indices` as float images (row-major [C,H,W] each, consecutive) and returns their labels.
    func load(_ indices: [Int], into images: UnsafeMutablePointer<Float>) throws -> [Int]
}

extension Dataset {
    /// The examples at `indices` as one batch (a fresh tensor; the dataset keeps no reference).
    public func batch(_ indices: [Int]) throws -> Batch {
        let images = Tensor(uninitializedShape: [indices.count] + imageShape)
        let labels = try load(indices, into: images.pointer)
        guard labels.count == indices.count else {
            throw DatasetError(path: String(describing: type(of: self)),
                               "load returned \(labels.count) labels for \(indices.count) indices")
        }
        return Batch(images: images, labels: labels, indices: indices)
    }

    /// Throws unless every index is in 0..<count (shared by the datasets' `load`).
    func checkIndices(_ indices: [Int], name: String) throws {
        if let bad = indices.first(where: { $0 < 0 || $0 >= count }) {
            throw DatasetError(path: name, "index \(bad) is out of range for \(count) examples")
        }
    }
}

/// A dataset file or directory is missing or malformed: which one, and what is wrong.
///
/// Dataset files come from packages, downloads and other programs, so every problem in
/// them is reported with the path instead of trapping.
public struct DatasetError: Error, CustomStringConvertible, Equatable {
    /// The file or directory the problem is in.
    public let path: String
    public let message: String

    public init(path: String, _ message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { "dataset \(path): \(message)" }
}
