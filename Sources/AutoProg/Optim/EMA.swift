import CKernels
import Foundation

/// Exponential moving averages of a model's parameters, several decays at once
/// (timm's `ModelEmaV3`; one per decay, e.g. [0.998, 0.9999]).
///
/// Each average is a flat buffer shadowing the model's packed parameter buffer, so
/// `update()` is one fused pass per decay: ema ← ema + (1 − d)·(p − ema), i.e.
/// d·ema + (1 − d)·p. Every parameter is averaged, frozen ones included (an average of
/// a constant stays that constant); module buffers are not averaged, and evaluation with
/// EMA weights uses the model's own buffers.
///
/// If the model's parameters are re-packed into a new buffer, the averages follow them
/// on the next call. If the model's parameters change (growth adds or replaces them),
/// the EMA throws: build a new one for the grown model, and give it grown averages with
/// `assign(from:decayIndex:)` (MoGrow grows each momentum copy with the model).
public final class EMA {
    public let model: Module
    public let decays: [Float]
    /// Optional warm-up of the decay (timm ModelEmaV3 `use_warmup`).
    public let warmup: Warmup?
    /// Number of `update()` calls so far (restored by `load`).
    public private(set) var updateCount = 0

    /// Decay warm-up: d(t) = clamp(1 − (1 + t/gamma)^(−power), minDecay, decay) at update t
    /// (1-based), so early averages track the fast-moving weights (timm's
    /// `warmup_gamma`, `warmup_power`, `min_decay`).
    public struct Warmup {
        public var gamma: Float
        public var power: Float
        public var minDecay: Float

        public init(gamma: Float = 1, power: Float = 2.0 / 3.0, minDecay: Float = 0) {
            self.gamma = gamma
            self.power = power
            self.minDecay = minDecay
        }
    }

    private let names: [String]
    private let parameters: [Parameter]
    private var layout: PackedLayout
    private var averages: [Tensor]

    /// Packs the model's parameters if needed and starts every average at their current values.
    public init(model: Module, decays: [Float], warmup: Warmup? = nil) throws {
        guard !decays.isEmpty, decays.allSatisfy({ $0 >= 0 && $0 <= 1 }) else {
            throw OptimizerError("EMA", "need at least one decay, each in [0, 1]; got \(decays)")
        }
        if let warmup, !(warmup.gamma > 0) {
            throw OptimizerError("EMA", "warm-up gamma must be > 0, got \(warmup.gamma)")
        }
        let named = model.namedParameters()
        self.model = model
        self.decays = decays
        self.warmup = warmup
        names = named.map(\.0)
        parameters = named.map(\.1)
        ParameterPacking.pack(parameters)
        layout = try PackedLayout(parameters, component: "EMA")
        let values = layout.values
        averages = decays.map { _ in
            let t = Tensor(uninitializedShape: [values.count])
            t.pointer.update(from: values.pointer, count: values.count)
            return t
        }
    }

    /// The decay used by update number `step` (1-based) for average `index`.
    public func decay(at step: Int, index: Int) -> Float {
        guard let w = warmup else { return decays[index] }
        let d = 1 - pow(1 + Double(step) / w.gamma.decimalDouble, -w.power.decimalDouble)
        return Float(max(min(d, decays[index].decimalDouble), w.minDecay.decimalDouble))
    }

    /// Moves every average towards the model's current parameters.
    public func update() throws {
        try followModel()
        updateCount += 1
        let p = layout.values.pointer
        let segments = layout.segments { _ in 0 }
        for k in decays.indices {
            let e = averages[k].pointer, w = Float(1 - decay(at: updateCount, index: k).decimalDouble)
            PackedLayout.forEachPiece(segments) { _, r in ck_ema_update(r.count, e + r.lowerBound, p + r.lowerBound, w) }
        }
    }

    private func followModel() throws {
        let current = model.parameters
        guard current.count == parameters.count, zip(current, parameters).allSatisfy({ $0 === $1 }) else {
            throw OptimizerError("EMA", "the model's parameters changed since this EMA was built (growth?); "
                + "build a new EMA for the new model and assign grown averages to it")
        }
        if layout.isCurrent(for: parameters) { return }
        let new = try PackedLayout(parameters, component: "EMA")
        averages = averages.map { layout.remap($0, to: new) }
        layout = new
    }

    private func checkIndex(_ decayIndex: Int, _ op: String) throws {
        guard decays.indices.contains(decayIndex) else {
            throw OptimizerError(op, "decay index \(decayIndex) is out of range for \(decays.count) averages")
        }
    }

    // MARK: Using the averages

    /// The average `decayIndex` as a model state dict (dotted names, parameter shapes),
    /// as views of the live buffer.
    public func weights(decayIndex: Int) throws -> StateDict {
        try checkIndex(decayIndex, "EMA.weights")
        try followModel()
        var d = StateDict()
        for (i, (name, p)) in zip(names, parameters).enumerated() {
            d[name] = layout.slice(averages[decayIndex], i, shape: p.shape)
        }
        return d
    }

    /// Copies average `decayIndex` into `module`'s parameters: the tracked model itself
    /// (to finish training with EMA weights) or another instance of the same architecture.
    public func copy(into module: Module, decayIndex: Int = 0) throws {
        let targets = try matching(module, decayIndex, "EMA.copy")
        let e = averages[decayIndex].pointer
        for (i, t) in targets.enumerated() { t.value.pointer.update(from: e + layout.offsets[i], count: t.count) }
    }

    /// Sets average `decayIndex` to `module`'s parameters (same names and shapes as the
    /// tracked model), e.g. to a momentum copy grown alongside the model.
    public func assign(from module: Module, decayIndex: Int) throws {
        let sources = try matching(module, decayIndex, "EMA.assign")
        let e = averages[decayIndex].pointer
        for (i, s) in sources.enumerated() { (e + layout.offsets[i]).update(from: s.value.pointer, count: s.count) }
    }

    /// Runs `body` with the tracked model's parameters replaced by average `decayIndex`
    /// (evaluation, sampling), restoring the trained weights afterwards even if `body`
    /// throws. `body` must not update the model.
    public func swapped<R>(decayIndex: Int = 0, _ body: () throws -> R) throws -> R {
        try checkIndex(decayIndex, "EMA.swapped")
        try followModel()
        let segments = layout.segments { _ in 0 }
        let p = layout.values.pointer, e = averages[decayIndex].pointer
        let saved = Tensor(uninitializedShape: [layout.size])
        for s in segments {
            (saved.pointer + s.start).update(from: p + s.start, count: s.count)
            (p + s.start).update(from: e + s.start, count: s.count)
        }
        defer { for s in segments { (p + s.start).update(from: saved.pointer + s.start, count: s.count) } }
        return try body()
    }

    /// `module`'s parameters after checking they match the tracked ones by name and shape.
    private func matching(_ module: Module, _ decayIndex: Int, _ op: String) throws -> [Parameter] {
        try checkIndex(decayIndex, op)
        try followModel()
        let named = module.namedParameters()
        var problems: [String] = []
        if named.map(\.0) != names {
            problems.append("parameter names differ from the tracked model's (\(named.count) vs \(names.count) parameters)")
        } else {
            for ((name, p), q) in zip(named, parameters) where p.shape != q.shape {
                problems.append("\(name): shape \(p.shape), tracked model has \(q.shape)")
            }
            for (name, p) in named where !p.value.isContiguous { problems.append("\(name) is not contiguous") }
        }
        if !problems.isEmpty { throw OptimizerError(op, problems) }
        return named.map(\.1)
    }

    // MARK: State

    /// Tensors `"<decayIndex>.<parameter name>"` (each average as a model state dict under
    /// its index) and metadata with the decays, warm-up and update count.
    public func stateDict() -> SavedState {
        var tensors = StateDict()
        for k in decays.indices {
            for (i, (name, p)) in zip(names, parameters).enumerated() {
                tensors["\(k).\(name)"] = layout.slice(averages[k], i, shape: p.shape)
            }
        }
        var metadata = [
            "type": "EMA",
            "decays": decays.map(\.description).joined(separator: ","),
            "update_count": String(updateCount),
        ]
        if let w = warmup {
            metadata["warmup_gamma"] = w.gamma.description
            metadata["warmup_power"] = w.power.description
            metadata["min_decay"] = w.minDecay.description
        }
        return SavedState(tensors: tensors, metadata: metadata)
    }

    /// Restores `stateDict()` output. The decays must be the ones this EMA was built with
    /// (a different decay is a different run); everything is checked before anything changes.
    public func load(_ saved: SavedState) throws {
        try followModel()
        var r = MetadataReader(saved.metadata)
        r.expectType("EMA")
        let count = r.int("update_count")
        if let savedDecays = r.floats("decays"), savedDecays != decays {
            r.problems.append("state has decays \(savedDecays), this EMA has \(decays)")
        }
        var problems = r.problems
        var expected = Set<String>()
        for k in decays.indices {
            for (name, p) in zip(names, parameters) {
                let key = "\(k).\(name)"
                expected.insert(key)
                guard let t = saved.tensors[key] else {
                    problems.append("missing tensor \"\(key)\"")
                    continue
                }
                if t.shape != p.shape { problems.append("\"\(key)\" has shape \(t.shape), parameter has \(p.shape)") }
            }
        }
        let unexpected = saved.tensors.keys.filter { !expected.contains($0) }
        if !unexpected.isEmpty { problems.append("unexpected tensors: \(unexpected.joined(separator: ", "))") }
        guard problems.isEmpty, let count else { throw OptimizerError("EMA.load", problems) }
        updateCount = count
        for k in decays.indices {
            for (i, name) in names.enumerated() {
                saved.tensors["\(k).\(name)"]!.copyStrided(into: averages[k].pointer + layout.offsets[i])
            }
        }
    }
}
