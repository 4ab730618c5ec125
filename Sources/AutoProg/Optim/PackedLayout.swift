/// Where a list of parameters sits in its shared packed value/grad buffers
/// (`ParameterPacking`), so optimizer and EMA state can shadow that layout with flat
/// buffers of the same size and update it in a few long contiguous passes.
struct PackedLayout {
    let values: Storage
    let grads: Storage
    /// Per parameter, in the caller's order: element offset into `values`/`grads`, and size.
    let offsets: [Int]
    let counts: [Int]
    /// Length of the flat buffers that shadow this layout.
    var size: Int { values.count }

    /// The layout the parameters have now. Throws when they are not all in one packed
    /// buffer (some were re-packed with other parameters) or a parameter is listed twice.
    init(_ parameters: [Parameter], component: String) throws {
        guard let first = parameters.first else { throw OptimizerError(component, "no parameters to track") }
        var seen = Set<ObjectIdentifier>()
        for (i, p) in parameters.enumerated() where !seen.insert(ObjectIdentifier(p)).inserted {
            throw OptimizerError(component, "parameter \(i) (shape \(p.shape)) is listed more than once")
        }
        guard ParameterPacking.isPacked(parameters) else {
            throw OptimizerError(component, "the parameters no longer share one packed buffer (some were re-packed "
                + "with other parameters, e.g. after growth); build a new \(component) for the new parameters")
        }
        values = first.value.storage
        grads = first.grad.storage
        for (i, p) in parameters.enumerated() where p.value.offset != p.grad.offset || !p.value.isContiguous {
            throw OptimizerError(component, "parameter \(i) is not laid out like its gradient in the packed buffers")
        }
        offsets = parameters.map(\.value.offset)
        counts = parameters.map(\.count)
    }

    /// True while the parameters still live in this layout's buffers (packing moves
    /// parameters by giving them new storage, so identity is enough).
    func isCurrent(for parameters: [Parameter]) -> Bool {
        parameters.allSatisfy { $0.value.storage === values && $0.grad.storage === grads }
    }

    /// A flat state buffer for `new`, holding each parameter's slice of `buffer` (laid out
    /// for this layout) at the parameter's new offset; padding is zero.
    func remap(_ buffer: Tensor, to new: PackedLayout) -> Tensor {
        let out = Tensor.zeros([new.size])
        for i in offsets.indices {
            (out.pointer + new.offsets[i]).update(from: buffer.pointer + offsets[i], count: counts[i])
        }
        return out
    }

    /// A view of parameter `i`'s slice of a flat state buffer, shaped like the parameter.
    func slice(_ buffer: Tensor, _ i: Int, shape: [Int]) -> Tensor {
        Tensor(storage: buffer.storage, offset: buffer.offset + offsets[i], shape: shape)
    }

    /// A maximal run of parameters lying back to back in storage (with only 16-float
    /// alignment padding between them, which packing zeroes and every kernel here keeps
    /// at zero) that share one group of hoisted scalars.
    struct Segment {
        var start: Int
        var count: Int
        var group: Int
    }

    /// Segments of the parameters for which `group` is non-nil, merged in storage order.
    func segments(_ group: (Int) -> Int?) -> [Segment] {
        let order = offsets.indices.sorted { offsets[$0] < offsets[$1] }
        var out: [Segment] = []
        var previousIncluded = false
        for i in order {
            guard let g = group(i) else {
                previousIncluded = false
                continue
            }
            if previousIncluded, var last = out.last, last.group == g,
               offsets[i] >= last.start + last.count, offsets[i] <= (last.start + last.count + 15) & ~15 {
                last.count = offsets[i] + counts[i] - last.start
                out[out.count - 1] = last
            } else {
                out.append(Segment(start: offsets[i], count: counts[i], group: g))
            }
            previousIncluded = true
        }
        return out
    }

    /// Calls `body(segment, range)` over every element of `segments` (ranges are absolute
    /// buffer offsets), splitting the total length across threads. Kernels run here must
    /// be element-wise, so the split cannot change a result.
    static func forEachPiece(_ segments: [Segment], minChunk: Int = 1 << 15, _ body: (Segment, Range<Int>) -> Void) {
        var starts: [Int] = []
        var total = 0
        for s in segments {
            starts.append(total)
            total += s.count
        }
        Parallel.forRanges(total, minChunk: minChunk) { r in
            // The last segment starting at or before r.lowerBound.
            var lo = 0, hi = segments.count - 1
            while lo < hi {
                let mid = (lo + hi + 1) / 2
                if starts[mid] <= r.lowerBound { lo = mid } else { hi = mid - 1 }
            }
            var k = lo, position = r.lowerBound
            while position < r.upperBound {
                let s = segments[k]
                let local = position - starts[k], end = min(r.upperBound - starts[k], s.count)
                if end > local { body(s, (s.start + local)..<(s.start + end)) }
                position = starts[k] + end
                k += 1
            }
        }
    }
}

/// Named per-parameter state buffers (`exp_avg`, `momentum_buffer`, …) kept flat in a
/// packed layout, with torch-style export: tensor `"<index>.<name>"` for each parameter
/// that has state (torch's `state[index][name]`).
struct FlatStateBuffers {
    let names: [String]
    private(set) var buffers: [Tensor]

    init(names: [String], size: Int) {
        self.names = names
        buffers = names.map { _ in Tensor.zeros([size]) }
    }

    func pointer(_ k: Int) -> UnsafeMutablePointer<Float> { buffers[k].pointer }

    mutating func remap(from old: PackedLayout, to new: PackedLayout) {
        buffers = buffers.map { old.remap($0, to: new) }
    }

    /// Views of the state of every parameter with `hasState(i)`.
    func export(_ layout: PackedLayout, shapes: [[Int]], hasState: (Int) -> Bool, into tensors: inout StateDict) {
        for i in shapes.indices where hasState(i) {
            for (name, b) in zip(names, buffers) { tensors["\(i).\(name)"] = layout.slice(b, i, shape: shapes[i]) }
        }
    }

    /// Problems with `tensors` as the state of parameters with these shapes, where
    /// `hasState(i)` says whether the saved state claims parameter i has state.
    func problems(loading tensors: StateDict, shapes: [[Int]], hasState: (Int) -> Bool) -> [String] {
        var problems: [String] = []
        var expected = Set<String>()
        for i in shapes.indices where hasState(i) {
            for name in names {
                let key = "\(i).\(name)"
                expected.insert(key)
                guard let t = tensors[key] else {
                    problems.append("missing tensor \"\(key)\"")
                    continue
                }
                if t.shape != shapes[i] {
                    problems.append("\"\(key)\" has shape \(t.shape) but parameter \(i) has shape \(shapes[i])")
                }
            }
        }
        let unexpected = tensors.keys.filter { !expected.contains($0) }
        if !unexpected.isEmpty { problems.append("unexpected tensors: \(unexpected.joined(separator: ", "))") }
        return problems
    }

    /// Replaces the state with `tensors` (already validated by `problems`): zero for
    /// parameters without saved state.
    mutating func load(_ tensors: StateDict, _ layout: PackedLayout, shapes: [[Int]], hasState: (Int) -> Bool) {
        for (k, name) in names.enumerated() {
            let b = buffers[k]
            b.pointer.update(repeating: 0, count: b.count)
            for i in shapes.indices where hasState(i) {
                tensors["\(i).\(name)"]!.copyStrided(into: b.pointer + layout.offsets[i])
            }
        }
    }
}
