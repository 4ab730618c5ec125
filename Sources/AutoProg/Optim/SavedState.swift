import OrderedCollections

/// What a stateful training component (optimizer, EMA) saves in a checkpoint: named
/// tensors plus a string map, exactly the two things a safetensors file holds (its
/// tensors and its `__metadata__`).
///
/// Hyper-parameters and counters live in `metadata` as decimal strings. Swift prints a
/// `Float` as the shortest decimal that reads back to the same bits, so they
/// round-trip exactly and a resumed run continues bit-identically.
public struct SavedState {
    public var tensors: StateDict
    public var metadata: [String: String]

    public init(tensors: StateDict = [:], metadata: [String: String] = [:]) {
        self.tensors = tensors
        self.metadata = metadata
    }

    /// Every key prefixed (`"optimizer."`), so several components share one file.
    public func prefixed(_ prefix: String) -> SavedState {
        var t = StateDict()
        for (k, v) in tensors { t[prefix + k] = v }
        return SavedState(tensors: t, metadata: Dictionary(uniqueKeysWithValues: metadata.map { (prefix + $0.key, $0.value) }))
    }

    /// Adds `other`'s tensors and metadata (keys already here win).
    public mutating func merge(_ other: SavedState) {
        tensors.merge(other.tensors) { a, _ in a }
        metadata.merge(other.metadata) { a, _ in a }
    }

    /// The entries under `prefix`, with the prefix removed (the inverse of `prefixed`).
    public func scoped(_ prefix: String) -> SavedState {
        var t = StateDict()
        for (k, v) in tensors where k.hasPrefix(prefix) { t[String(k.dropFirst(prefix.count))] = v }
        var m: [String: String] = [:]
        for (k, v) in metadata where k.hasPrefix(prefix) { m[String(k.dropFirst(prefix.count))] = v }
        return SavedState(tensors: t, metadata: m)
    }
}

/// Bad optimizer, schedule or EMA configuration, or saved state that does not fit the
/// component it is loaded into; every problem found is listed.
public struct OptimizerError: Error, CustomStringConvertible {
    public let component: String
    public let problems: [String]

    public init(_ component: String, _ problems: [String]) {
        self.component = component
        self.problems = problems
    }

    public init(_ component: String, _ problem: String) { self.init(component, [problem]) }

    public var description: String {
        problems.count == 1 ? "\(component): \(problems[0])" : "\(component):\n  " + problems.joined(separator: "\n  ")
    }
}

/// Reads typed values out of saved metadata, collecting problems instead of stopping at
/// the first, so a bad checkpoint is reported in one error.
struct MetadataReader {
    let metadata: [String: String]
    var problems: [String] = []

    init(_ metadata: [String: String]) { self.metadata = metadata }

    mutating func string(_ key: String) -> String? {
        guard let s = metadata[key] else {
            problems.append("missing metadata \"\(key)\"")
            return nil
        }
        return s
    }

    mutating func float(_ key: String) -> Float? {
        guard let s = string(key) else { return nil }
        guard let x = Float(s) else {
            problems.append("metadata \"\(key)\" = \"\(s)\" is not a number")
            return nil
        }
        return x
    }

    /// The finite number ≥ 0 under `key`, or nil when the key is absent (as in files
    /// written before it existed); a value that is not one is a problem.
    mutating func nonNegativeDouble(ifPresent key: String) -> Double? {
        guard let s = metadata[key] else { return nil }
        guard let x = Double(s), x.isFinite, x >= 0 else {
            problems.append("metadata \"\(key)\" = \"\(s)\" is not a finite number ≥ 0")
            return nil
        }
        return x
    }

    mutating func floats(_ key: String) -> [Float]? {
        guard let s = string(key) else { return nil }
        let parts = s.split(separator: ",").map { Float($0) }
        guard !parts.isEmpty, parts.allSatisfy({ $0 != nil }) else {
            problems.append("metadata \"\(key)\" = \"\(s)\" is not a comma-separated list of numbers")
            return nil
        }
        return parts.map { $0! }
    }

    mutating func int(_ key: String) -> Int? {
        guard let s = string(key) else { return nil }
        guard let x = Int(s) else {
            problems.append("metadata \"\(key)\" = \"\(s)\" is not an integer")
            return nil
        }
        return x
    }

    mutating func bool(_ key: String) -> Bool? {
        guard let s = string(key) else { return nil }
        guard let x = Bool(s) else {
            problems.append("metadata \"\(key)\" = \"\(s)\" is not true or false")
            return nil
        }
        return x
    }

    /// Checks the component type recorded under "type".
    mutating func expectType(_ type: String) {
        guard let s = string("type") else { return }
        if s != type { problems.append("state was saved by \(s), not \(type)") }
    }
}

extension Float {
    /// The decimal this float prints as, read as a Double. Hyper-parameters are Float,
    /// but torch computes its hoisted scalars (bias corrections, 1 − lr·wd) in double
    /// from the decimal the user wrote; `Float(0.9)` widened is 0.899999976…, whereas this
    /// gives 0.9, so the scalars match torch's.
    var decimalDouble: Double { Double(description) ?? Double(self) }
}
