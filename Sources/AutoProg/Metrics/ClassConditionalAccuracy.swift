/// How often images generated for a class are recognised as that class by the feature
/// network's classifier head (does a generated "sandal" classify as a sandal?).
public struct ClassConditionalAccuracy: Equatable, Sendable {
    /// Fraction of all images classified as the class they were generated for.
    public let overall: Double
    /// Per class: the fraction of its images classified as it; nil for a class with no images.
    public let perClass: [Double?]
    /// Images per intended class.
    public let counts: [Int]
    /// confusion[c][p]: images generated for class c that were classified as p.
    public let confusion: [[Int]]
}

extension ClassConditionalAccuracy {
    /// Tallies intended (0-based) against predicted classes.
    init(labels: [Int], predicted: [Int], classes: Int) {
        var confusion = [[Int]](repeating: [Int](repeating: 0, count: classes), count: classes)
        for (c, p) in zip(labels, predicted) { confusion[c][p] += 1 }
        let counts = confusion.map { $0.reduce(0, +) }
        let correct = (0..<classes).reduce(0) { $0 + confusion[$1][$1] }
        self.init(overall: Double(correct) / Double(max(labels.count, 1)),
                  perClass: (0..<classes).map { c in counts[c] == 0 ? nil : Double(confusion[c][c]) / Double(counts[c]) },
                  counts: counts, confusion: confusion)
    }
}

/// The class-conditional accuracy of `images` [N, C, H, W] in [0, 1] generated for the
/// 0-based `labels`, judged by `classifier`'s logits (evaluation mode, no gradients).
public func classConditionalAccuracy(images: Tensor, labels: [Int], classifier: FeatureNetwork,
                                     batchSize: Int = 250) throws -> ClassConditionalAccuracy {
    let classes = classifier.configuration.classes
    guard images.rank >= 1, labels.count == images.shape[0] else {
        throw MetricsError("classConditionalAccuracy", "\(labels.count) labels for images of shape \(images.shape)")
    }
    if let k = labels.firstIndex(where: { $0 < 0 || $0 >= classes }) {
        throw MetricsError("classConditionalAccuracy", "label \(labels[k]) of image \(k) is not a class in 0..<\(classes)")
    }
    let predicted = try classifier.predictClasses(images, batchSize: batchSize)
    return ClassConditionalAccuracy(labels: labels, predicted: predicted, classes: classes)
}

/// The classifier's accuracy on a labelled dataset (its own labels as the intended
/// classes), read batch by batch: the real-data reference for generated samples. A dataset
/// of some classes of another (`ClassSubset`) is judged by a classifier of all of them.
public func classConditionalAccuracy(dataset: Dataset, classifier: FeatureNetwork,
                                     batchSize: Int = 250) throws -> ClassConditionalAccuracy {
    let classes = classifier.configuration.classes
    let full = dataset.fullDatasetClasses
    guard full.count == classes else {
        throw MetricsError("classConditionalAccuracy", "the dataset's classes are \(full.count == dataset.classNames.count ? "" : "from ")"
            + "a dataset of \(full.count) classes, the classifier has \(classes)")
    }
    guard batchSize >= 1 else { throw MetricsError("classConditionalAccuracy", "batch size must be ≥ 1, got \(batchSize)") }
    var labels: [Int] = [], predicted: [Int] = []
    var start = 0
    while start < dataset.count {
        let batch = try dataset.batch(Array(start..<min(start + batchSize, dataset.count)))
        labels += batch.labels.map { full.classes[$0] }
        predicted += try classifier.predictClasses(batch.images, batchSize: batchSize)
        start += batchSize
    }
    guard !labels.isEmpty else { throw MetricsError("classConditionalAccuracy", "the dataset is empty") }
    return ClassConditionalAccuracy(labels: labels, predicted: predicted, classes: classes)
}
