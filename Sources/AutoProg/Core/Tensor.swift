import Foundation
import CKernels

/// A float32 n-dimensional array: a view (offset, shape, strides in elements) over a
/// shared `Storage`, plus the autodiff node that produced it, if any.
///
/// Tensors are values: copying one copies the view, not the data. Views (reshape of a
/// contiguous tensor, transpose, permute, slice) share storage; kernels that need dense
/// rows call `contiguous()` once and then work on raw pointers.
public struct Tensor {
    public let storage: Storage
    public let offset: Int
    public let shape: [Int]
    public let strides: [Int]
    /// The autodiff node whose gradient this tensor feeds, or nil for constants.
    public internal(set) var gradNode: GradNode?

    public init(storage: Storage, offset: Int = 0, shape: [Int], strides: [Int]? = nil) {
        self.storage = storage
        self.offset = offset
        self.shape = shape
        self.strides = strides ?? Tensor.contiguousStrides(for: shape)
        self.gradNode = nil
    }

    /// A tensor with uninitialised contents, for kernels that write every element.
    public init(uninitializedShape shape: [Int]) {
        self.init(storage: Storage(count: shape.reduce(1, *)), shape: shape)
    }

    /// A tensor holding `values` in row-major order.
    public init(_ values: [Float], shape: [Int]) throws {
        guard shape.allSatisfy({ $0 >= 0 }) else { throw TensorError("tensor", "negative dimension in shape \(shape)") }
        let count = shape.reduce(1, *)
        guard values.count == count else {
            throw TensorError("tensor", "\(values.count) values do not fill shape \(shape) (\(count) elements)")
        }
        self.init(uninitializedShape: shape)
        values.withUnsafeBufferPointer { src in
            if count > 0 { pointer.update(from: src.baseAddress!, count: count) }
        }
    }

    /// A 1-D tensor holding `values`.
    public init(_ values: [Float]) {
        try! self.init(values, shape: [values.count])
    }

    /// A 0-d tensor holding one value.
    public init(scalar value: Float) {
        self.init(uninitializedShape: [])
        pointer.pointee = value
    }

    public static func zeros(_ shape: [Int]) -> Tensor { full(shape, 0) }
    public static func ones(_ shape: [Int]) -> Tensor { full(shape, 1) }

    public static func full(_ shape: [Int], _ value: Float) -> Tensor {
        let t = Tensor(uninitializedShape: shape)
        if value == 0 {
            t.pointer.initialize(repeating: 0, count: t.count)
        } else {
            t.pointer.initialize(repeating: value, count: t.count)
        }
        return t
    }

    // MARK: Geometry

    public var rank: Int { shape.count }
    /// Number of elements.
    public var count: Int { shape.reduce(1, *) }
    /// Pointer to the first element of the view.
    public var pointer: UnsafeMutablePointer<Float> { storage.pointer + offset }

    public static func contiguousStrides(for shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var s = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[i] = s
            s *= shape[i]
        }
        return strides
    }

    /// True when elements are laid out densely in row-major order.
    public var isContiguous: Bool {
        var expected = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) where shape[i] != 1 {
            if strides[i] != expected { return false }
            expected *= shape[i]
        }
        return true
    }

    /// Resolves one negative axis (-1 = last) against the rank, or throws naming the op.
    public func axis(_ axis: Int, op: String) throws -> Int {
        let a = axis < 0 ? axis + rank : axis
        guard a >= 0 && a < Swift.max(rank, 1) else {
            throw TensorError(op, "axis \(axis) is out of range for a tensor of shape \(shape)")
        }
        return a
    }

    // MARK: Data access

    /// A dense row-major copy of this view (or the view itself when already dense).
    ///
    /// The result keeps this tensor's gradient node: gradients do not depend on layout,
    /// so an op may call `contiguous()` on its inputs and record them as usual.
    public func contiguous() -> Tensor {
        if isContiguous { return self }
        var out = Tensor(uninitializedShape: shape)
        copyStrided(into: out.pointer)
        out.gradNode = gradNode
        return out
    }

    /// Writes this view's elements in row-major order to `destination`.
    public func copyStrided(into destination: UnsafeMutablePointer<Float>) {
        let n = count
        if n == 0 { return }
        if isContiguous {
            destination.update(from: pointer, count: n)
            return
        }
        // Walk all but the last axis with an odometer; copy the last axis in a tight loop.
        let r = rank
        let inner = shape[r - 1], innerStride = strides[r - 1]
        var index = [Int](repeating: 0, count: r - 1)
        var src = pointer
        var dst = destination
        let outer = n / Swift.max(inner, 1)
        for _ in 0..<outer {
            if innerStride == 1 {
                dst.update(from: src, count: inner)
            } else {
                for j in 0..<inner { dst[j] = src[j * innerStride] }
            }
            dst += inner
            var d = r - 2
            while d >= 0 {
                index[d] += 1
                src += strides[d]
                if index[d] < shape[d] { break }
                src -= strides[d] * shape[d]
                index[d] = 0
                d -= 1
            }
        }
    }

    /// The elements in row-major order.
    public func toArray() -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            if let base = buffer.baseAddress { copyStrided(into: base) }
            initialized = count
        }
    }

    /// The value of a one-element tensor.
    public func item() throws -> Float {
        guard count == 1 else { throw TensorError("item", "tensor of shape \(shape) has \(count) elements, not 1") }
        return pointer.pointee
    }

    /// Element at a full index (unchecked beyond a debug assertion; for tests and tooling).
    public subscript(_ index: Int...) -> Float {
        assert(index.count == rank)
        var o = 0
        for (i, s) in zip(index, strides) { o += i * s }
        return pointer[o]
    }

    /// A new tensor with its own copy of the data and no gradient history.
    public func clone() -> Tensor {
        let out = Tensor(uninitializedShape: shape)
        copyStrided(into: out.pointer)
        return out
    }

    /// This tensor without gradient history (shares data).
    public func detached() -> Tensor {
        var t = self
        t.gradNode = nil
        return t
    }

    /// Copies `source`'s values into this tensor's memory (same number of elements).
    /// A data-level operation outside autodiff, for loading weights and optimizer updates.
    public func assign(_ source: Tensor) throws {
        guard source.shape == shape else {
            throw TensorError.shapes("assign", shape, source.shape, "differ")
        }
        if isContiguous {
            source.copyStrided(into: pointer)
        } else {
            // Rare: scatter through a strided destination.
            let values = source.toArray()
            var i = 0
            forEachOffset { o in pointer[o - offset] = values[i]; i += 1 }
        }
    }

    /// Calls `body` with the storage offset of every element, in row-major order.
    func forEachOffset(_ body: (Int) -> Void) {
        let n = count
        if n == 0 { return }
        var index = [Int](repeating: 0, count: rank)
        var o = offset
        for _ in 0..<n {
            body(o)
            var d = rank - 1
            while d >= 0 {
                index[d] += 1
                o += strides[d]
                if index[d] < shape[d] { break }
                o -= strides[d] * shape[d]
                index[d] = 0
                d -= 1
            }
        }
    }

    /// True when any element is NaN or ±infinity.
    public var hasNonFinite: Bool {
        let c = contiguous()
        let s = ck_sum(c.pointer, c.count)
        if s.isFinite { return false }
        // The sum may overflow on finite data; confirm element-wise.
        let p = c.pointer
        for i in 0..<c.count where !p[i].isFinite { return true }
        return false
    }
}

extension Tensor: CustomStringConvertible {
    /// A one-line summary: shape, dtype and statistics (Torch7 prints the data; we summarise).
    public var description: String {
        let dims = shape.isEmpty ? "scalar" : shape.map(String.init).joined(separator: "x")
        let n = count
        if n == 0 { return "Tensor \(dims) float32 (empty)" }
        if n == 1 { return "Tensor \(dims) float32 value=\(pointer.pointee)" }
        let c = contiguous()
        let mean = ck_sum(c.pointer, n) / Double(n)
        let variance = Swift.max(0, ck_sumsq(c.pointer, n) / Double(n) - mean * mean)
        var lo = Float.infinity, hi = -Float.infinity
        for i in 0..<n { lo = min(lo, c.pointer[i]); hi = Swift.max(hi, c.pointer[i]) }
        let grad = requiresGrad ? " requires_grad" : ""
        return "Tensor \(dims) float32 mean=\(fmt(mean)) std=\(fmt(variance.squareRoot())) min=\(fmt(Double(lo))) max=\(fmt(Double(hi)))\(grad)"
    }

    private func fmt(_ x: Double) -> String {
        if x == 0 { return "0" }
        let a = Swift.abs(x)
        if a >= 1e-3 && a < 1e5 {
            var s = String(Double((x * 1e4).rounded()) / 1e4)
            if s.hasSuffix(".0") { s.removeLast(2) }
            return s
        }
        return String(format: "%.3e", x)
    }
}
