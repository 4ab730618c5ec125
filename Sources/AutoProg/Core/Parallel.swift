import Dispatch
import Foundation

/// The engine's parallelism: work split across the machine's cores (or
/// `AUTOPROG_THREADS`), with OpenBLAS itself held at one thread (DESIGN §2: splitting
/// small GEMMs by rows across our own workers beats OpenBLAS's threads on them).
public enum Parallel {
    public static let threadCount: Int = {
        if let s = ProcessInfo.processInfo.environment["AUTOPROG_THREADS"], let n = Int(s), n > 0 { return n }
        return ProcessInfo.processInfo.activeProcessorCount
    }()

    /// Runs `body(i)` for every i in 0..<count across the worker threads.
    /// Iterations should be of similar cost; each thread takes a contiguous run.
    @inline(__always)
    public static func forEach(_ count: Int, _ body: (Int) -> Void) {
        forRanges(count, minChunk: 1) { r in for i in r { body(i) } }
    }

    /// Splits 0..<count into at most `threadCount` contiguous ranges of at least
    /// `minChunk` items and runs them concurrently; runs inline when one range suffices.
    public static func forRanges(_ count: Int, minChunk: Int, _ body: (Range<Int>) -> Void) {
        if count <= 0 { return }
        let chunks = min(threadCount, max(1, count / max(1, minChunk)))
        if chunks == 1 {
            body(0..<count)
            return
        }
        withoutActuallyEscaping(body) { body in
            // Kernels hand raw pointers to disjoint ranges; the split makes that race-free.
            let work = UncheckedSendable(body)
            DispatchQueue.concurrentPerform(iterations: chunks) { c in
                work.value((count * c / chunks)..<(count * (c + 1) / chunks))
            }
        }
    }
}

/// Carries a value the compiler cannot prove thread-safe into a concurrent closure.
/// Used only where the work is partitioned so that no two threads touch the same memory.
struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
