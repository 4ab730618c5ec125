/// Batches from a dataset in a seeded, resumable order, prepared ahead on a background
/// thread (`torch.utils.data.DataLoader` with `shuffle`, `drop_last`, a seeded generator
/// and `prefetch_factor`).
///
/// The order of epoch e is a permutation keyed by (seed, e) alone, so the stream of
/// batches is a pure function of the position: setting `position` to a saved value
/// reproduces exactly the batches an uninterrupted loader would have produced from there.
/// Prefetching changes only when batches are built, never what they hold.
public final class DataLoader {
    /// The next batch to produce: batch `batch` of epoch `epoch` (both from 0).
    public struct Position: Equatable, Codable, Sendable {
        public var epoch: Int
        public var batch: Int

        public init(epoch: Int, batch: Int) {
            self.epoch = epoch
            self.batch = batch
        }
    }

    public let dataset: Dataset
    public let batchSize: Int
    public let shuffle: Bool
    public let dropLast: Bool
    public let seed: UInt64
    /// How many batches the background thread keeps ready (0 = load in `next()`).
    public let prefetch: Int
    private let plan: BatchPlan
    private var prefetcher: PrefetchQueue?
    /// The epoch order used when loading without prefetch.
    private var orderCache: (epoch: Int, order: [Int])?

    /// - Parameter seed: keys the shuffle; nil takes `Random.seed` (the run's seed).
    public init(dataset: Dataset, batchSize: Int, shuffle: Bool = true, dropLast: Bool = true,
                seed: UInt64? = nil, prefetch: Int = 2) throws {
        guard batchSize > 0, prefetch >= 0 else {
            throw DatasetError(path: "DataLoader", "batchSize (\(batchSize)) must be positive and prefetch (\(prefetch)) non-negative")
        }
        self.dataset = dataset
        self.batchSize = batchSize
        self.shuffle = shuffle
        self.dropLast = dropLast
        self.seed = seed ?? Random.seed
        self.prefetch = prefetch
        self.plan = BatchPlan(count: dataset.count, batchSize: batchSize, shuffle: shuffle, dropLast: dropLast, seed: self.seed)
        guard plan.batchesPerEpoch > 0 else {
            throw DatasetError(path: "DataLoader", "\(dataset.count) examples make no batch of \(batchSize)"
                + (dropLast && dataset.count > 0 ? " with dropLast (pass dropLast: false or a smaller batch)" : ""))
        }
    }

    deinit { prefetcher?.stop() }

    public var batchesPerEpoch: Int { plan.batchesPerEpoch }

    /// The background producer, once `next()` has started it (for tests).
    var prefetchQueue: PrefetchQueue? { prefetcher }

    /// The next batch to produce. Setting it (to resume) discards prefetched batches and
    /// restarts prefetching from there; an out-of-range value makes `next()` throw.
    public var position = Position(epoch: 0, batch: 0) {
        didSet { if position != oldValue { prefetcher?.restart(at: position) } }
    }

    /// The batch at `position`, then advances (past the last batch, to the next epoch).
    /// A failed load rethrows the dataset's error and leaves the position where it was.
    public func next() throws -> Batch {
        guard position.epoch >= 0, (0..<batchesPerEpoch).contains(position.batch) else {
            throw DatasetError(path: "DataLoader", "position \(position) is out of range (\(batchesPerEpoch) batches per epoch)")
        }
        let batch: Batch
        if prefetch == 0 {
            batch = try dataset.batch(plan.indices(at: position, cache: &orderCache))
        } else {
            if prefetcher == nil {
                prefetcher = PrefetchQueue(dataset: dataset, plan: plan, depth: prefetch, start: position)
            }
            batch = try prefetcher!.take(position)
        }
        position = plan.advance(position)
        return batch
    }
}
