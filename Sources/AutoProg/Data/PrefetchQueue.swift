import Foundation

/// The producer side of `DataLoader`: a background thread that loads the next batches
/// into fresh tensors while the caller trains.
///
/// The thread holds this object (and the dataset), never the loader, so dropping the
/// loader mid-epoch runs its deinit, which calls `stop()`; the thread then finishes the
/// load in hand, sees `stopped` and exits, releasing everything. Every field below is
/// guarded by `condition`; batches are built outside the lock.
final class PrefetchQueue: @unchecked Sendable {
    private let dataset: Dataset
    private let plan: BatchPlan
    private let depth: Int
    private let condition = NSCondition()
    private var ready: [(position: DataLoader.Position, result: Result<Batch, Error>)] = []
    /// The next position the producer will load.
    private var producing: DataLoader.Position
    /// Bumped by `restart`, so a batch begun before the restart is discarded.
    private var generation = 0
    private var stopped = false

    init(dataset: Dataset, plan: BatchPlan, depth: Int, start: DataLoader.Position) {
        self.dataset = dataset
        self.plan = plan
        self.depth = depth
        self.producing = start
        let thread = Thread { [self] in run() }
        thread.name = "autoprog.prefetch"
        thread.start()
    }

    /// The batch at `position`, waiting for the producer if needed. The loader restarts
    /// the queue whenever its position jumps, so the head batch is normally the one
    /// wanted; anything else is discarded and production restarted.
    func take(_ position: DataLoader.Position) throws -> Batch {
        condition.lock()
        defer { condition.unlock() }
        while true {
            while ready.isEmpty { condition.wait() }
            let item = ready.removeFirst()
            condition.broadcast()
            guard item.position == position else {
                restartLocked(at: position)
                continue
            }
            if case .failure = item.result {
                // Retry from the same position on the next call.
                restartLocked(at: position)
            }
            return try item.result.get()
        }
    }

    /// Discards prepared batches and continues producing from `position`.
    func restart(at position: DataLoader.Position) {
        condition.lock()
        restartLocked(at: position)
        condition.unlock()
    }

    private func restartLocked(at position: DataLoader.Position) {
        ready.removeAll()
        producing = position
        generation += 1
        condition.broadcast()
    }

    func stop() {
        condition.lock()
        stopped = true
        ready.removeAll()
        condition.broadcast()
        condition.unlock()
    }

    private func run() {
        var cache: (epoch: Int, order: [Int])?
        while true {
            condition.lock()
            while !stopped && ready.count >= depth { condition.wait() }
            if stopped {
                condition.unlock()
                return
            }
            let (position, ticket) = (producing, generation)
            producing = plan.advance(position)
            condition.unlock()

            let result = Result { try dataset.batch(plan.indices(at: position, cache: &cache)) }

            condition.lock()
            if ticket == generation && !stopped {
                ready.append((position, result))
                condition.broadcast()
            }
            condition.unlock()
        }
    }
}
