import Foundation
import Testing
@testable import AutoProg

@Suite struct DataLoaderTests {
    /// The first `n` batches' indices.
    func indices(_ loader: DataLoader, _ n: Int) throws -> [[Int]] {
        try (0..<n).map { _ in try loader.next().indices }
    }

    @Test func sameSeedSameOrderAndEachIndexOncePerEpoch() throws {
        let data = CountingDataset(count: 23)
        let a = try DataLoader(dataset: data, batchSize: 5, seed: 42)
        let b = try DataLoader(dataset: data, batchSize: 5, seed: 42, prefetch: 0)
        let c = try DataLoader(dataset: data, batchSize: 5, seed: 43)
        #expect(a.batchesPerEpoch == 4)   // 23 / 5, last 3 dropped
        let first = try indices(a, 8), second = try indices(b, 8)
        #expect(first == second)
        #expect(try indices(c, 4) != Array(first.prefix(4)))
        for epoch in 0..<2 {
            let seen = first[(4 * epoch)..<(4 * epoch + 4)].flatMap { $0 }
            #expect(seen.count == 20 && Set(seen).count == 20)
        }
        #expect(first[0..<4] != first[4..<8])   // a fresh permutation each epoch
        #expect(a.position == .init(epoch: 2, batch: 0))
    }

    @Test func withoutDropLastTheLastBatchIsShort() throws {
        let loader = try DataLoader(dataset: CountingDataset(count: 7), batchSize: 3, shuffle: false, dropLast: false)
        #expect(loader.batchesPerEpoch == 3)
        #expect(try indices(loader, 4) == [[0, 1, 2], [3, 4, 5], [6], [0, 1, 2]])
    }

    @Test func batchesHoldTheLoadedImagesAndLabels() throws {
        let loader = try DataLoader(dataset: CountingDataset(count: 10), batchSize: 4, seed: 1)
        let batch = try loader.next()
        #expect(batch.images.shape == [4, 1, 2, 2])
        #expect(batch.images.toArray() == batch.indices.flatMap { [Float](repeating: Float($0), count: 4) })
        #expect(batch.labels == batch.indices.map { $0 % 7 })
    }

    /// Restoring a saved position continues exactly as the uninterrupted loader did, with
    /// or without prefetch, mid-epoch and across epoch boundaries.
    @Test func positionRestoreReproducesTheRestOfTheStream() throws {
        let data = CountingDataset(count: 17)
        let reference = try DataLoader(dataset: data, batchSize: 4, seed: 7, prefetch: 0)
        let stream = try indices(reference, 13)
        for start in [0, 3, 4, 9] {
            for prefetch in [0, 1, 3] {
                let resumed = try DataLoader(dataset: data, batchSize: 4, seed: 7, prefetch: prefetch)
                resumed.position = .init(epoch: start / 4, batch: start % 4)
                #expect(try indices(resumed, 13 - start) == Array(stream[start...]), "start \(start) prefetch \(prefetch)")
            }
        }
        // Moving back while batches are already prefetched discards them.
        let loader = try DataLoader(dataset: data, batchSize: 4, seed: 7, prefetch: 3)
        _ = try indices(loader, 6)
        let saved = loader.position
        let ahead = try indices(loader, 3)
        loader.position = saved
        #expect(try indices(loader, 3) == ahead)
        #expect(saved == .init(epoch: 1, batch: 2))
        let json = try JSONEncoder().encode(saved)
        #expect(try JSONDecoder().decode(DataLoader.Position.self, from: json) == saved)
    }

    @Test func defaultSeedIsTheRunSeed() throws {
        Random.manualSeed(11)
        let implicit = try DataLoader(dataset: CountingDataset(count: 12), batchSize: 4)
        Random.manualSeed(0)
        let explicit = try DataLoader(dataset: CountingDataset(count: 12), batchSize: 4, seed: 11)
        #expect(try indices(implicit, 3) == indices(explicit, 3))
    }

    @Test func prefetchedBatchesEqualDirectOnes() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try writeTinyFashionMNIST(in: dir, count: 40)
        let data = try FashionMNIST(split: .train, directory: dir)
        let direct = try DataLoader(dataset: data, batchSize: 6, seed: 3, prefetch: 0)
        let ahead = try DataLoader(dataset: data, batchSize: 6, seed: 3, prefetch: 4)
        for _ in 0..<15 {
            let (x, y) = (try direct.next(), try ahead.next())
            #expect(x.indices == y.indices && x.labels == y.labels)
            #expect(x.images.toArray() == y.images.toArray())
        }
    }

    /// A background load failure reaches the caller, who can retry the same batch.
    @Test func backgroundErrorsAreRethrownByNext() throws {
        let loader = try DataLoader(dataset: CountingDataset(count: 9, failing: 5), batchSize: 3, shuffle: false, prefetch: 2)
        #expect(try loader.next().indices == [0, 1, 2])
        #expect(throws: DatasetError.self) { try loader.next() }
        #expect(loader.position == .init(epoch: 0, batch: 1))
        #expect(throws: DatasetError.self) { try loader.next() }
        loader.position = .init(epoch: 0, batch: 2)
        #expect(try loader.next().indices == [6, 7, 8])
    }

    /// Dropping a loader mid-epoch frees it and stops its thread (which holds the queue).
    @Test func droppingTheLoaderStopsItsThread() throws {
        weak var weakLoader: DataLoader?
        weak var weakQueue: PrefetchQueue?
        do {
            let loader = try DataLoader(dataset: CountingDataset(count: 100), batchSize: 2, prefetch: 3)
            _ = try loader.next()
            weakLoader = loader
            weakQueue = loader.prefetchQueue
        }
        #expect(weakLoader == nil)
        let deadline = Date().addingTimeInterval(5)
        while weakQueue != nil && Date() < deadline { usleep(1000) }
        #expect(weakQueue == nil)
    }

    @Test func badArgumentsAndPositionsThrow() throws {
        let data = CountingDataset(count: 5)
        #expect(throws: DatasetError.self) { try DataLoader(dataset: data, batchSize: 0) }
        #expect(throws: DatasetError.self) { try DataLoader(dataset: data, batchSize: 6) }
        #expect(throws: DatasetError.self) { try DataLoader(dataset: data, batchSize: 2, prefetch: -1) }
        #expect(try DataLoader(dataset: data, batchSize: 6, dropLast: false).batchesPerEpoch == 1)
        let loader = try DataLoader(dataset: data, batchSize: 2)
        loader.position = .init(epoch: 0, batch: 2)
        #expect(throws: DatasetError.self) { try loader.next() }
        loader.position = .init(epoch: -1, batch: 0)
        #expect(throws: DatasetError.self) { try loader.next() }
    }

    @Test func subsetsMapIndicesIntoTheirBase() throws {
        let base = CountingDataset(count: 10)
        let subset = DatasetSubset(base, indices: [7, 2, 9])
        #expect(subset.count == 3 && subset.imageShape == [1, 2, 2] && subset.classNames == base.classNames)
        #expect(try subset.batch([2, 0]).labels == [9 % 7, 7 % 7])
        #expect(DatasetSubset(base, first: 4).count == 4)
        #expect(DatasetSubset(base, first: 40).count == 10)
        #expect(throws: DatasetError.self) { try subset.batch([3]) }
        #expect(throws: DatasetError.self) { try DatasetSubset(base, indices: [10]).batch([0]) }
    }
}
