import Foundation
import Collections

/// A JSON document with object members kept in insertion order.
///
/// One type serves every JSON file autoprog reads or writes (config.json, metrics.jsonl,
/// notebooks, safetensors headers), so key order is stable and numbers keep their kind:
/// `.integer` for counts and steps (printed exactly), `.number` for measurements.
/// Equality is structural and kind-sensitive: `.integer(1) != .number(1)`, and a NaN
/// `.number` is unequal to itself, as with `Double`.
public enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    /// A floating-point number. Non-finite values serialize as `null` (as JSON has no
    /// NaN or infinity; Python's `json.dumps(allow_nan=False)` would refuse them).
    case number(Double)
    /// A number written without a fraction or exponent that fits in `Int`.
    case integer(Int)
    case string(String)
    case array([JSONValue])
    case object(OrderedDictionary<String, JSONValue>)

    /// A `Float` measurement (a loss, a learning rate) stored as the `Double` closest to its
    /// shortest decimal form, so `0.1` as a `Float` logs as `0.1` rather than
    /// `0.10000000149011612`; both read back as the same `Float`.
    public init(_ value: Float) {
        self = .number(value.isFinite ? Double(value.description) ?? Double(value) : Double(value))
    }

    // MARK: Access

    /// The member named `key` of an object; nil for a missing key or a non-object.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members[key]
    }

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// The value of an `.integer`, or of a `.number` that is a whole number in `Int`'s range.
    public var intValue: Int? {
        switch self {
        case .integer(let i): return i
        case .number(let d): return d.rounded() == d && abs(d) < 9.2e18 ? Int(d) : nil
        default: return nil
        }
    }

    /// The value of a `.number` or `.integer`.
    public var doubleValue: Double? {
        switch self {
        case .number(let d): return d
        case .integer(let i): return Double(i)
        default: return nil
        }
    }

    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    public var objectValue: OrderedDictionary<String, JSONValue>? {
        if case .object(let o) = self { return o }
        return nil
    }

    // MARK: Serialization

    /// Compact JSON (no whitespace), members in order, finite doubles in their shortest
    /// round-trip form, non-ASCII characters as UTF-8 (`json.dumps(ensure_ascii=False,
    /// separators=(",", ":"))`).
    public var serialized: String {
        var out = ""
        write(to: &out, indent: nil, depth: 0)
        return out
    }

    /// Multi-line JSON indented by `indent` spaces per level (`json.dumps(indent=2)`);
    /// empty arrays and objects stay on one line.
    public func prettyPrinted(indent: Int = 2) -> String {
        var out = ""
        write(to: &out, indent: max(0, indent), depth: 0)
        return out
    }

    private func write(to out: inout String, indent: Int?, depth: Int) {
        func newline(_ level: Int) {
            guard let indent else { return }
            out += "\n" + String(repeating: " ", count: indent * level)
        }
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .integer(let i): out += String(i)
        case .number(let d): out += JSONValue.format(d)
        case .string(let s): JSONValue.writeString(s, to: &out)
        case .array(let items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                newline(depth + 1)
                item.write(to: &out, indent: indent, depth: depth + 1)
            }
            if !items.isEmpty { newline(depth) }
            out += "]"
        case .object(let members):
            out += "{"
            for (i, (key, value)) in members.enumerated() {
                if i > 0 { out += "," }
                newline(depth + 1)
                JSONValue.writeString(key, to: &out)
                out += indent == nil ? ":" : ": "
                value.write(to: &out, indent: indent, depth: depth + 1)
            }
            if !members.isEmpty { newline(depth) }
            out += "}"
        }
    }

    /// `d` in the shortest form that reads back as the same `Double` ("0.1", "1e-05",
    /// "3.0"), or `null` when it is not finite. Swift's description is already valid JSON
    /// for finite values.
    static func format(_ d: Double) -> String {
        d.isFinite ? d.description : "null"
    }

    /// Appends `s` as a JSON string literal: quote, backslash and control characters
    /// escaped (`\n`, `\t`, ... or `\u00XX`), everything else verbatim.
    static func writeString(_ s: String, to out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }

    // MARK: Parsing

    /// Parses one strict RFC 8259 JSON document (surrounding whitespace allowed).
    ///
    /// Duplicate object keys are rejected rather than silently merged, whole numbers that
    /// fit in `Int` become `.integer`, and nesting is limited to 64 levels.
    public static func parse(_ text: String) throws -> JSONValue {
        do {
            return try JSONParser.parse(Array(text.utf8))
        } catch {
            throw JSONParseError(message: error.message)
        }
    }
}

/// Malformed JSON text; `message` says what was wrong and at which byte.
public struct JSONParseError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { "invalid JSON: \(message)" }
}

extension JSONValue: ExpressibleByNilLiteral {
    public init(nilLiteral: ()) { self = .null }
}

extension JSONValue: ExpressibleByBooleanLiteral {
    public init(booleanLiteral value: Bool) { self = .bool(value) }
}

extension JSONValue: ExpressibleByIntegerLiteral {
    public init(integerLiteral value: Int) { self = .integer(value) }
}

extension JSONValue: ExpressibleByFloatLiteral {
    public init(floatLiteral value: Double) { self = .number(value) }
}

extension JSONValue: ExpressibleByStringLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
}

extension JSONValue: ExpressibleByArrayLiteral {
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
}

extension JSONValue: ExpressibleByDictionaryLiteral {
    /// Members in the order written; a repeated key keeps its first position and last value.
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(OrderedDictionary(elements, uniquingKeysWith: { _, last in last }))
    }
}
