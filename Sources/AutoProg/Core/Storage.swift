import Foundation
import Synchronization

/// Float memory behind one or more tensor views.
///
/// Pooled storage is 64-byte aligned; wrapped memory (a memory-mapped checkpoint) is only
/// guaranteed 4-byte aligned, so kernels use unaligned vector loads.
///
/// Storage is a class so that views share it and ARC frees it; its buffer comes from
/// `BufferPool`, which keeps released buffers by size for reuse. A training step
/// allocates the same sizes every step, so after the first step the steady-state loop
/// takes every activation from the pool: no page faults and no zeroing, which is what
/// a bump arena buys, without the risk of a stale view reading reused memory.
public final class Storage: @unchecked Sendable {
    public let pointer: UnsafeMutablePointer<Float>
    /// Number of floats the buffer holds.
    public let count: Int
    private let release: Release

    enum Release {
        case pool(capacity: Int)
        case custom(() -> Void)
    }

    /// Uninitialised storage for `count` floats.
    public init(count: Int) {
        let capacity = BufferPool.capacity(forCount: count)
        self.pointer = BufferPool.shared.take(capacity: capacity)
        self.count = count
        self.release = .pool(capacity: capacity)
    }

    /// Wraps memory owned elsewhere (a memory-mapped file, say); `deallocate` runs when
    /// the last view is gone.
    public init(wrapping pointer: UnsafeMutablePointer<Float>, count: Int, deallocate: @escaping () -> Void) {
        self.pointer = pointer
        self.count = count
        self.release = .custom(deallocate)
    }

    deinit {
        switch release {
        case .pool(let capacity): BufferPool.shared.give(pointer, capacity: capacity)
        case .custom(let deallocate): deallocate()
        }
    }
}

/// A size-bucketed cache of aligned buffers (the CPU analogue of PyTorch's caching allocator).
public final class BufferPool: Sendable {
    public static let shared = BufferPool()

    /// Buffers are rounded up to whole cache lines so that near sizes share buckets.
    static func capacity(forCount count: Int) -> Int { max(16, (count + 15) & ~15) }

    private struct State {
        // Addresses as integers: raw pointers are not Sendable, addresses are.
        var free: [Int: [UInt]] = [:]
        var cachedFloats = 0
        var liveFloats = 0
        var peakLiveFloats = 0
    }
    private let state = Mutex(State())
    /// Cached bytes above this are returned to the system instead of kept.
    private let cacheLimitFloats: Int

    init() {
        let limitMB = ProcessInfo.processInfo.environment["AUTOPROG_POOL_LIMIT_MB"].flatMap(Int.init) ?? 8192
        cacheLimitFloats = limitMB * (1 << 20) / 4
    }

    func take(capacity: Int) -> UnsafeMutablePointer<Float> {
        let reused: UInt? = state.withLock { s in
            s.liveFloats += capacity
            s.peakLiveFloats = max(s.peakLiveFloats, s.liveFloats)
            guard let p = s.free[capacity]?.popLast() else { return nil }
            s.cachedFloats -= capacity
            return p
        }
        if let reused { return UnsafeMutablePointer(bitPattern: reused)! }
        var raw: UnsafeMutableRawPointer?
        guard posix_memalign(&raw, 64, capacity * 4) == 0, let raw else {
            fatalError("autoprog: out of memory allocating \(capacity * 4) bytes")
        }
        return raw.bindMemory(to: Float.self, capacity: capacity)
    }

    func give(_ pointer: UnsafeMutablePointer<Float>, capacity: Int) {
        let address = UInt(bitPattern: pointer)
        let keep = state.withLock { s in
            s.liveFloats -= capacity
            guard s.cachedFloats + capacity <= cacheLimitFloats else { return false }
            s.free[capacity, default: []].append(address)
            s.cachedFloats += capacity
            return true
        }
        if !keep { free(pointer) }
    }

    /// Returns every cached buffer to the system (after a model changes size, say).
    public func trim() {
        let buffers = state.withLock { s -> [UInt] in
            let all = s.free.values.flatMap { $0 }
            s.free.removeAll()
            s.cachedFloats = 0
            return all
        }
        for p in buffers { free(UnsafeMutableRawPointer(bitPattern: p)) }
    }

    /// Bytes held by live tensors, the high-water mark of that, and bytes cached for reuse.
    public var statistics: (liveBytes: Int, peakLiveBytes: Int, cachedBytes: Int) {
        state.withLock { ($0.liveFloats * 4, $0.peakLiveFloats * 4, $0.cachedFloats * 4) }
    }

    public func resetPeak() { state.withLock { $0.peakLiveFloats = $0.liveFloats } }
}
