/// A batch after augmentation: images (possibly resized), hard labels, and the soft
/// targets a mixing transform produced (nil when no sample was mixed).
public struct AugmentedBatch {
    public var images: Tensor
    public var labels: [Int]
    /// Soft targets [N, classes] (timm's `Mixup` output), to be used instead of `labels`.
    public var targets: Tensor?

    public init(images: Tensor, labels: [Int], targets: Tensor? = nil) {
        self.images = images
        self.labels = labels
        self.targets = targets
    }
}

/// Transforms a batch; all randomness comes from a `RandomStream` derived from
/// (seed, epoch, batch index) by `RandomStream.augmentation(seed:epoch:batch:)`, so a
/// resumed run reproduces the same augmented batches.
///
/// Implementations never modify `batch.images` in place: the batch may be shared with
/// the caller (a logger, a resume check).
public protocol BatchTransform {
    func apply(_ batch: Batch, random: inout RandomStream) throws -> AugmentedBatch
}

/// A transform of one image [C, H, W] at a time (the per-sample transforms of a
/// torchvision pipeline). As a `BatchTransform` it first splits the batch's stream into
/// one stream per sample, in sample order, and then transforms the samples in parallel:
/// what each sample draws depends only on its position in the batch, never on threading.
/// Every output image must have the same shape.
public protocol ImageTransform: BatchTransform {
    /// The transformed image: a fresh tensor (the input is a view into the batch and must not be written).
    func transform(_ image: Tensor, random: inout RandomStream) throws -> Tensor
}

extension ImageTransform {
    public func apply(_ batch: Batch, random: inout RandomStream) throws -> AugmentedBatch {
        let name = String(describing: type(of: self))
        let images = batch.images.contiguous()
        guard images.rank == 4 else { throw TensorError(name, "images of shape \(images.shape) must be [N, C, H, W]") }
        let n = images.shape[0], imageShape = Array(images.shape.dropFirst())
        let size = imageShape.reduce(1, *)
        let streams = random.sampleStreams(n)
        var results = [Result<Tensor, any Error>?](repeating: nil, count: n)
        results.withUnsafeMutableBufferPointer { slots in
            let slot = slots.baseAddress!
            Parallel.forEach(n) { i in
                var stream = streams[i]
                let image = Tensor(storage: images.storage, offset: images.offset + i * size, shape: imageShape)
                slot[i] = Result { try transform(image, random: &stream).contiguous() }
            }
        }
        guard n > 0 else { return AugmentedBatch(images: images, labels: batch.labels) }
        let first = try results[0]!.get()
        let out = Tensor(uninitializedShape: [n] + first.shape)
        for i in 0..<n {
            let result = try results[i]!.get()
            guard result.shape == first.shape else {
                throw TensorError(name, "sample \(i) came out \(result.shape), sample 0 \(first.shape)")
            }
            (out.pointer + i * result.count).update(from: result.pointer, count: result.count)
        }
        return AugmentedBatch(images: out, labels: batch.labels)
    }
}

/// Applies transforms in order (`torchvision.transforms.Compose`, extended to batch
/// transforms such as `MixupCutmix`). Soft targets from one transform pass through the
/// later ones; two transforms producing targets is an error, since mixing mixed targets
/// again would need the first targets as input.
public struct Compose: BatchTransform {
    public var transforms: [any BatchTransform]

    public init(_ transforms: [any BatchTransform]) {
        self.transforms = transforms
    }

    public func apply(_ batch: Batch, random: inout RandomStream) throws -> AugmentedBatch {
        var current = AugmentedBatch(images: batch.images, labels: batch.labels)
        for transform in transforms {
            let input = Batch(images: current.images, labels: current.labels, indices: batch.indices)
            let next = try transform.apply(input, random: &random)
            if next.targets != nil, current.targets != nil {
                throw TensorError("Compose", "\(type(of: transform)) produced soft targets after an earlier transform did")
            }
            current = AugmentedBatch(images: next.images, labels: next.labels, targets: next.targets ?? current.targets)
        }
        return current
    }
}

extension RandomStream {
    /// The augmentation stream of batch `batch` of epoch `epoch`: a pure function of
    /// (seed, epoch, batch), like the loader's order, so that resuming at a
    /// `DataLoader.Position` reproduces the augmented batches exactly.
    public static func augmentation(seed: UInt64, epoch: Int, batch: Int) -> RandomStream {
        RandomStream(seed: seed, purpose: "augmentation/epoch \(epoch)/batch \(batch)")
    }

    /// `n` independent streams keyed by successive blocks of this one (consuming n blocks),
    /// so per-sample work can run on any thread and still draw the same numbers.
    public mutating func sampleStreams(_ n: Int) -> [RandomStream] {
        (0..<n).map { _ in
            let (a, b, _, _) = philox.nextBlock()
            var stream = self
            stream.philox = Philox(key: UInt64(a) << 32 | UInt64(b))
            return stream
        }
    }

    /// The augmentation stream of the batch at `position`.
    public static func augmentation(seed: UInt64, at position: DataLoader.Position) -> RandomStream {
        augmentation(seed: seed, epoch: position.epoch, batch: position.batch)
    }
}
