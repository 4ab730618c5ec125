/// The parsed and validated header of a safetensors file: what each tensor is and where
/// its bytes are, without the data.
///
/// Validation follows the reference implementation (huggingface/safetensors `Metadata::validate`
/// and `read_metadata`): the header is UTF-8 JSON starting with `{`, tensors tile the byte
/// buffer exactly in offset order (no overlaps, no holes, nothing after the last tensor,
/// which rules out polyglot files), and each tensor's byte count is its shape's element
/// count times its dtype's size. Unknown fields inside a tensor entry are ignored, as the
/// reference does, so files from newer writers still load.
public struct SafeTensorsHeader: Sendable {
    /// One tensor's description.
    public struct Entry: Sendable, Equatable {
        public let name: String
        public let dtype: SafeTensors.DType
        public let shape: [Int]
        /// Byte range within the data buffer (which starts at `SafeTensorsHeader.dataOffset`).
        public let byteRange: Range<Int>

        public var count: Int { shape.reduce(1, *) }
    }

    /// Tensors in the order they appear in the header JSON.
    public let entries: [Entry]
    /// The free-form `__metadata__` string map (empty when absent).
    public let metadata: [String: String]
    /// Length in bytes of the JSON header, including its padding.
    public let headerLength: Int

    /// File offset of the first data byte.
    public var dataOffset: Int { 8 + headerLength }

    /// The largest header accepted, as in the reference implementation: a larger length
    /// field means a corrupt file or not a safetensors file at all.
    public static let maximumHeaderLength = 100_000_000

    /// Checks the 8-byte length prefix against the file size and returns the header length.
    static func headerLength(prefix: UInt64, fileSize: Int, path: String) throws -> Int {
        guard prefix <= UInt64(maximumHeaderLength) else {
            throw CheckpointError(path: path, "header length \(prefix) exceeds the \(maximumHeaderLength)-byte limit (corrupt, or not a safetensors file)")
        }
        let n = Int(prefix)
        guard 8 + n <= fileSize else {
            throw CheckpointError(path: path, "header length \(n) runs past the end of the \(fileSize)-byte file (truncated?)")
        }
        return n
    }

    /// Error for a file too short to hold the length prefix.
    static func tooShort(fileSize: Int, path: String) -> CheckpointError {
        CheckpointError(path: path, "file is \(fileSize) bytes, too short for the 8-byte header length (empty or truncated)")
    }

    /// Parses and validates the JSON header bytes; `bufferLength` is the number of bytes
    /// after the header (file size − 8 − header length).
    init(json: UnsafeRawBufferPointer, bufferLength: Int, path: String) throws {
        func fail(_ message: String) -> CheckpointError { CheckpointError(path: path, message) }

        guard let text = String(validating: json, as: UTF8.self) else {
            throw fail("header is not valid UTF-8")
        }
        guard json.first == UInt8(ascii: "{") else {
            throw fail("header does not start with '{' (corrupt, or not a safetensors file)")
        }
        let root: JSONValue
        do {
            root = try JSONParser.parse(Array(text.utf8))
        } catch {
            throw fail("header is not valid JSON: \(error.message)")
        }
        guard case .object(let members) = root else {
            throw fail("header is \(root.summary), not a JSON object")
        }

        var entries: [Entry] = []
        var metadata: [String: String] = [:]
        for (name, value) in members {
            if name == "__metadata__" {
                guard case .object(let pairs) = value else {
                    throw fail("__metadata__ is \(value.summary), not an object of strings")
                }
                for (key, v) in pairs {
                    guard case .string(let s) = v else {
                        throw fail("__metadata__ value for \"\(key)\" is \(v.summary), not a string")
                    }
                    metadata[key] = s
                }
            } else {
                entries.append(try Self.entry(name: name, value: value, bufferLength: bufferLength, fail: fail))
            }
        }

        // The tensors must tile the buffer: sorted by offsets, each starts where the
        // previous one ended and the last ends at the end of the file.
        var end = 0
        var previous: Entry?
        for e in entries.sorted(by: { ($0.byteRange.lowerBound, $0.byteRange.upperBound) < ($1.byteRange.lowerBound, $1.byteRange.upperBound) }) {
            if e.byteRange.lowerBound < end, let p = previous {
                throw fail("tensors \"\(p.name)\" (bytes \(p.byteRange.lowerBound)..<\(p.byteRange.upperBound)) and \"\(e.name)\" (bytes \(e.byteRange.lowerBound)..<\(e.byteRange.upperBound)) overlap")
            }
            if e.byteRange.lowerBound > end {
                throw fail("gap of \(e.byteRange.lowerBound - end) unused bytes before tensor \"\(e.name)\" at buffer offset \(end) (the data buffer must be fully covered)")
            }
            end = e.byteRange.upperBound
            previous = e
        }
        if end != bufferLength {
            throw fail("\(bufferLength - end) bytes after the last tensor's data (buffer is \(bufferLength) bytes, tensors cover \(end)); trailing data is not allowed")
        }

        self.entries = entries
        self.metadata = metadata
        self.headerLength = json.count
    }

    private static func entry(name: String, value: JSONValue, bufferLength: Int, fail: (String) -> CheckpointError) throws -> Entry {
        guard case .object(let fields) = value else {
            throw fail("tensor \"\(name)\" is described by \(value.summary), not an object")
        }
        func field(_ key: String) throws -> JSONValue {
            guard let v = fields.first(where: { $0.key == key })?.value else {
                throw fail("tensor \"\(name)\" has no \"\(key)\" field")
            }
            return v
        }
        func integers(_ key: String) throws -> [Int] {
            guard case .array(let items) = try field(key) else {
                throw fail("tensor \"\(name)\": \"\(key)\" is \(try field(key).summary), not an array of integers")
            }
            return try items.map { item in
                guard case .integer(let i) = item, i >= 0 else {
                    throw fail("tensor \"\(name)\": \"\(key)\" contains \(item.summary), not a non-negative 64-bit integer")
                }
                return i
            }
        }

        guard case .string(let dtypeName) = try field("dtype") else {
            throw fail("tensor \"\(name)\": \"dtype\" is \(try field("dtype").summary), not a string")
        }
        guard let dtype = SafeTensors.DType(rawValue: dtypeName) else {
            throw fail("tensor \"\(name)\" has unknown or unsupported dtype \"\(dtypeName)\" (supported: \(SafeTensors.DType.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        let shape = try integers("shape")
        let offsets = try integers("data_offsets")
        guard offsets.count == 2 else {
            throw fail("tensor \"\(name)\": \"data_offsets\" has \(offsets.count) entries, expected [begin, end]")
        }
        let (begin, end) = (offsets[0], offsets[1])
        guard begin <= end else {
            throw fail("tensor \"\(name)\": data_offsets [\(begin), \(end)] end before they begin")
        }
        guard end <= bufferLength else {
            throw fail("tensor \"\(name)\": data_offsets [\(begin), \(end)] run past the \(bufferLength)-byte data buffer (truncated?)")
        }
        var bytes = dtype.byteSize
        for d in shape {
            let (product, overflow) = bytes.multipliedReportingOverflow(by: d)
            guard !overflow else { throw fail("tensor \"\(name)\": shape \(shape) of \(dtypeName) overflows a 64-bit byte count") }
            bytes = product
        }
        guard end - begin == bytes else {
            throw fail("tensor \"\(name)\": data_offsets [\(begin), \(end)] hold \(end - begin) bytes but shape \(shape) of \(dtypeName) needs \(bytes)")
        }
        return Entry(name: name, dtype: dtype, shape: shape, byteRange: begin..<end)
    }
}

extension SafeTensors {
    /// Element types of the safetensors format (the byte-sized ones; the sub-byte F4/F6
    /// types of recent versions are rejected as unsupported).
    public enum DType: String, Sendable, CaseIterable {
        case bool = "BOOL"
        case uint8 = "U8"
        case int8 = "I8"
        case float8E5M2 = "F8_E5M2"
        case float8E4M3 = "F8_E4M3"
        case int16 = "I16"
        case uint16 = "U16"
        case float16 = "F16"
        case bfloat16 = "BF16"
        case int32 = "I32"
        case uint32 = "U32"
        case float32 = "F32"
        case float64 = "F64"
        case int64 = "I64"
        case uint64 = "U64"

        public var byteSize: Int {
            switch self {
            case .bool, .uint8, .int8, .float8E5M2, .float8E4M3: 1
            case .int16, .uint16, .float16, .bfloat16: 2
            case .int32, .uint32, .float32: 4
            case .float64, .int64, .uint64: 8
            }
        }
    }
}
