import CKernels

/// Batched inference of the feature network for the metrics: evaluation mode, no
/// gradients, a bounded batch so that memory stays flat for any number of images.
extension FeatureNetwork {
    /// Penultimate features [N, featureDimension] of images [N, C, H, W] in [0, 1].
    public func extractFeatures(_ images: Tensor, batchSize: Int = 250) throws -> Tensor {
        try checkImages(images)
        return try inference(count: images.shape[0], batchSize: batchSize, width: featureDimension) { r in
            try features(images.sliced(axis: 0, r))
        }
    }

    /// Features of every image of `dataset` (e.g. Fashion-MNIST's test split).
    public func extractFeatures(_ dataset: Dataset, batchSize: Int = 250) throws -> Tensor {
        try inference(count: dataset.count, batchSize: batchSize, width: featureDimension) { r in
            let images = try dataset.batch(Array(r)).images
            try checkImages(images)
            return try features(images)
        }
    }

    /// Predicted classes (argmax of the logits, 0-based) of images [N, C, H, W] in [0, 1].
    public func predictClasses(_ images: Tensor, batchSize: Int = 250) throws -> [Int] {
        try checkImages(images)
        let logits = try inference(count: images.shape[0], batchSize: batchSize, width: configuration.classes) { r in
            try forward(images.sliced(axis: 0, r))
        }
        return try logits.argmax(axis: 1)
    }

    /// Runs `body` on consecutive index ranges and stacks its [n, width] results.
    private func inference(count: Int, batchSize: Int, width: Int, _ body: (Range<Int>) throws -> Tensor) throws -> Tensor {
        guard batchSize >= 1 else { throw MetricsError("feature network", "batch size must be ≥ 1, got \(batchSize)") }
        guard count >= 1 else { throw MetricsError("feature network", "no images given") }
        let wasTraining = isTraining
        eval()
        defer { train(wasTraining) }
        let out = Tensor(uninitializedShape: [count, width])
        try Autograd.withoutGradients {
            var start = 0
            while start < count {
                let r = start..<min(start + batchSize, count)
                let part = try body(r)
                part.copyStrided(into: out.pointer + start * width)
                start = r.upperBound
            }
        }
        return out
    }

    /// Images must be [N, C, H, W] with the network's channels, finite, and in [0, 1]
    /// (to a small tolerance): samples still in the model's [−1, 1] range are the usual
    /// mistake, and would give a plausible-looking but meaningless distance.
    func checkImages(_ images: Tensor) throws {
        guard images.rank == 4, images.shape[1] == configuration.channels else {
            throw MetricsError("feature network", "images must be [N, \(configuration.channels), H, W] in [0, 1], got shape \(images.shape)")
        }
        let c = images.contiguous()
        var low = Float.infinity, high = -Float.infinity
        for i in 0..<c.count {
            let v = c.pointer[i]
            guard v.isFinite else { throw MetricsError("feature network", "image value \(i) is \(v)") }
            low = min(low, v)
            high = max(high, v)
        }
        let tolerance: Float = 0.01
        if low < -tolerance || high > 1 + tolerance {
            throw MetricsError("feature network", "images must be in [0, 1] (the range of ap.data.fashion_mnist), found values in "
                + "[\(low), \(high)]; map samples from [−1, 1] with ((x + 1) / 2):clamp(0, 1) first")
        }
    }
}
