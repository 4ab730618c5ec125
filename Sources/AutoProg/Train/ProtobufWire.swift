import Foundation

/// The protobuf wire format, written and read by hand for the handful of TensorBoard
/// messages autoprog needs (so the package does not depend on swift-protobuf).
struct ProtobufWriter {
    private(set) var data = Data()

    private mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            data.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        data.append(UInt8(v))
    }

    private mutating func key(_ field: Int, _ wireType: UInt64) {
        varint(UInt64(field) << 3 | wireType)
    }

    /// An int32/int64 field (negative values take ten bytes, as protobuf specifies).
    mutating func int(_ field: Int, _ value: Int) {
        key(field, 0)
        varint(UInt64(bitPattern: Int64(value)))
    }

    mutating func double(_ field: Int, _ value: Double) {
        key(field, 1)
        withUnsafeBytes(of: value.bitPattern.littleEndian) { data.append(contentsOf: $0) }
    }

    mutating func float(_ field: Int, _ value: Float) {
        key(field, 5)
        withUnsafeBytes(of: value.bitPattern.littleEndian) { data.append(contentsOf: $0) }
    }

    mutating func bytes(_ field: Int, _ value: Data) {
        key(field, 2)
        varint(UInt64(value.count))
        data.append(value)
    }

    mutating func string(_ field: Int, _ value: String) {
        bytes(field, Data(value.utf8))
    }

    mutating func message(_ field: Int, _ build: (inout ProtobufWriter) -> Void) {
        var inner = ProtobufWriter()
        build(&inner)
        bytes(field, inner.data)
    }
}

/// Reads the fields of one protobuf message in order.
struct ProtobufReader {
    enum Value {
        case varint(UInt64)
        case fixed64(UInt64)
        case fixed32(UInt32)
        case bytes(Data)

        var int: Int? {
            if case .varint(let v) = self { return Int(truncatingIfNeeded: Int64(bitPattern: v)) }
            return nil
        }
        var data: Data? {
            if case .bytes(let d) = self { return d }
            return nil
        }
        var string: String? { data.flatMap { String(data: $0, encoding: .utf8) } }
    }

    struct Malformed: Error {
        let message: String
    }

    private let bytes: [UInt8]
    private var position = 0

    init(_ data: Data) { bytes = [UInt8](data) }

    /// The next (field number, value), or nil at the end of the message.
    mutating func next() throws(Malformed) -> (field: Int, value: Value)? {
        guard position < bytes.count else { return nil }
        let key = try varint()
        let field = Int(key >> 3)
        guard field > 0 else { throw Malformed(message: "field number 0 at byte \(position)") }
        switch key & 7 {
        case 0: return (field, .varint(try varint()))
        case 1: return (field, .fixed64(try fixed(8)))
        case 5: return (field, .fixed32(UInt32(try fixed(4))))
        case 2:
            let length = try varint()
            guard length <= UInt64(bytes.count - position) else {
                throw Malformed(message: "length \(length) of field \(field) runs past the end of the message")
            }
            let value = Data(bytes[position..<position + Int(length)])
            position += Int(length)
            return (field, .bytes(value))
        default:
            throw Malformed(message: "unsupported wire type \(key & 7) for field \(field)")
        }
    }

    private mutating func varint() throws(Malformed) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while position < bytes.count && shift < 64 {
            let b = bytes[position]
            position += 1
            result |= UInt64(b & 0x7F) << shift
            if b < 0x80 { return result }
            shift += 7
        }
        throw Malformed(message: "truncated or overlong varint")
    }

    private mutating func fixed(_ size: Int) throws(Malformed) -> UInt64 {
        guard bytes.count - position >= size else { throw Malformed(message: "truncated fixed\(size * 8) field") }
        var v: UInt64 = 0
        for i in 0..<size { v |= UInt64(bytes[position + i]) << (8 * UInt64(i)) }
        position += size
        return v
    }
}
