/// A view of some examples of another dataset, in the given order
/// (`torch.utils.data.Subset`): small training sets for tests and quick runs, or a
/// held-out slice.
public final class DatasetSubset: Dataset {
    public let base: Dataset
    public let indices: [Int]

    /// Indices are checked when loaded (an out-of-range one throws then, naming it).
    public init(_ base: Dataset, indices: [Int]) {
        self.base = base
        self.indices = indices
    }

    /// The first `n` examples of `base` (all of them if it has fewer).
    public convenience init(_ base: Dataset, first n: Int) {
        self.init(base, indices: Array(0..<max(0, min(n, base.count))))
    }

    public var count: Int { indices.count }
    public var imageShape: [Int] { base.imageShape }
    public var classNames: [String] { base.classNames }

    public func load(_ indices: [Int], into images: UnsafeMutablePointer<Float>) throws -> [Int] {
        try checkIndices(indices, name: "subset of \(type(of: base))")
        let mapped = indices.map { self.indices[$0] }
        if let bad = mapped.first(where: { $0 < 0 || $0 >= base.count }) {
            throw DatasetError(path: "subset of \(type(of: base))", "base index \(bad) is out of range for \(base.count) examples")
        }
        return try base.load(mapped, into: images)
    }
}
