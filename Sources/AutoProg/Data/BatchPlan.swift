/// Which dataset indices make up each batch: the loader's order as a pure function of
/// (seed, epoch, batch), so that any position can be produced without replaying the
/// batches before it. This is what makes a resumed run bit-identical to an
/// uninterrupted one.
struct BatchPlan: Sendable {
    let count: Int
    let batchSize: Int
    let shuffle: Bool
    let dropLast: Bool
    let seed: UInt64

    var batchesPerEpoch: Int { dropLast ? count / batchSize : (count + batchSize - 1) / batchSize }

    /// The order of epoch `epoch`: a Philox permutation keyed by (seed, epoch), or 0..<count.
    func order(epoch: Int) -> [Int] {
        guard shuffle else { return Array(0..<count) }
        var stream = RandomStream(seed: seed, purpose: "data_order/epoch \(epoch)")
        return stream.permutation(count)
    }

    /// The indices of the batch at `position`, reusing `cache` while the epoch is the same.
    func indices(at position: DataLoader.Position, cache: inout (epoch: Int, order: [Int])?) -> [Int] {
        if cache?.epoch != position.epoch { cache = (position.epoch, order(epoch: position.epoch)) }
        let start = position.batch * batchSize
        return Array(cache!.order[start..<min(start + batchSize, count)])
    }

    /// The position after `position`, wrapping to the next epoch.
    func advance(_ position: DataLoader.Position) -> DataLoader.Position {
        position.batch + 1 < batchesPerEpoch ? .init(epoch: position.epoch, batch: position.batch + 1)
            : .init(epoch: position.epoch + 1, batch: 0)
    }
}
