/// The examples of some classes of another dataset, relabelled 0..<k in the order the
/// classes are given: a source/target split for transfer (pre-train a diffusion model on
/// Fashion-MNIST classes 0–4, fine-tune it on 5–9, the analogue of ImageNet → Flowers).
public final class ClassSubset: LabelledDataset {
    public let base: Dataset
    /// The base's class of each new label.
    public let classes: [Int]
    /// The new label of every example.
    public let labels: [Int]
    private let subset: DatasetSubset
    private let relabel: [Int: Int]

    public init(_ base: Dataset, classes: [Int]) throws {
        let valid = 0..<base.classNames.count
        guard !classes.isEmpty else { throw DatasetError(path: "\(type(of: base))", "a class subset needs at least one class") }
        if let bad = classes.first(where: { !valid.contains($0) }) {
            throw DatasetError(path: "\(type(of: base))", "class \(bad) is not one of its \(valid.count) classes (0..<\(valid.count))")
        }
        guard Set(classes).count == classes.count else {
            throw DatasetError(path: "\(type(of: base))", "classes \(classes) repeat a class")
        }
        self.base = base
        self.classes = classes
        let relabel = Dictionary(uniqueKeysWithValues: classes.enumerated().map { ($1, $0) })
        let baseLabels = try base.allLabels()
        let kept = baseLabels.indices.filter { relabel[baseLabels[$0]] != nil }
        self.relabel = relabel
        subset = DatasetSubset(base, indices: kept)
        labels = kept.map { relabel[baseLabels[$0]]! }
    }

    public var count: Int { subset.count }
    public var imageShape: [Int] { base.imageShape }
    public var classNames: [String] { classes.map { base.classNames[$0] } }

    public func load(_ indices: [Int], into images: UnsafeMutablePointer<Float>) throws -> [Int] {
        try subset.load(indices, into: images).map { relabel[$0]! }
    }
}

extension Dataset {
    /// The dataset this one chose its classes from (through `DatasetSubset`s of a
    /// `ClassSubset`; itself otherwise) and each of this one's labels as a class of it: what a
    /// classifier of all that dataset's classes calls them (Fashion-MNIST classes 5–9 are
    /// labels 0–4 here, `classes` [5, 6, 7, 8, 9] of 10).
    public var fullDatasetClasses: (classes: [Int], count: Int) {
        var dataset: Dataset = self
        while let subset = dataset as? DatasetSubset { dataset = subset.base }
        guard let selection = dataset as? ClassSubset else { return (Array(dataset.classNames.indices), dataset.classNames.count) }
        // A selection of a selection names its base's labels: map them on down.
        let base = selection.base.fullDatasetClasses
        return (selection.classes.map { base.classes[$0] }, base.count)
    }
}

/// A dataset whose labels are known without decoding its images.
public protocol LabelledDataset: Dataset {
    var labels: [Int] { get }
}

extension Dataset {
    /// Every example's label: read directly from a `LabelledDataset` (or through a
    /// subset of one), else by loading the examples in chunks.
    public func allLabels() throws -> [Int] {
        if let known = self as? LabelledDataset { return known.labels }
        if let subset = self as? DatasetSubset {
            let base = try subset.base.allLabels()
            return try subset.indices.map { i in
                guard base.indices.contains(i) else {
                    throw DatasetError(path: "subset of \(type(of: subset.base))", "base index \(i) is out of range for \(base.count) examples")
                }
                return base[i]
            }
        }
        let size = imageShape.reduce(1, *), chunk = 256
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: chunk * size)
        defer { buffer.deallocate() }
        var out: [Int] = []
        for start in stride(from: 0, to: count, by: chunk) {
            out += try load(Array(start..<min(start + chunk, count)), into: buffer)
        }
        return out
    }
}

extension FashionMNIST: LabelledDataset {
    public var labels: [Int] { labelBytes.map(Int.init) }
}

extension ImageFolder: LabelledDataset {
    public var labels: [Int] { samples.map(\.label) }
}
