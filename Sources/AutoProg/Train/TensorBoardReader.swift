import Foundation

/// One decoded `tensorflow.Event` (the fields autoprog writes).
public struct TensorBoardEvent: Equatable {
    /// One `Summary.Value`: exactly one of the payloads is set.
    public struct Value: Equatable {
        public var tag: String
        public var simpleValue: Float?
        /// An image's (width, height, colorspace, encoded bytes).
        public var image: Image?
        /// The first string of a DT_STRING tensor (what `add_text` writes).
        public var text: String?
    }

    public struct Image: Equatable {
        public var width: Int
        public var height: Int
        public var colorspace: Int
        public var encoded: Data
    }

    public var wallTime: Double
    public var step: Int
    public var fileVersion: String?
    public var values: [Value]
}

/// A scalar logged to an event file.
public struct TensorBoardScalar: Equatable {
    public var step: Int
    public var tag: String
    public var value: Float

    public init(step: Int, tag: String, value: Float) {
        self.step = step
        self.tag = tag
        self.value = value
    }
}

/// Reads event files back, verifying the record framing, for tests and run inspection.
public enum TensorBoardReader {
    /// The payloads of every record in `url`, after checking each length and both masked
    /// CRC-32Cs. A truncated or corrupted record throws `RunFileError` with its offset.
    public static func records(_ url: URL) throws -> [Data] {
        let data = try Data(contentsOf: url)
        let path = url.path
        var records: [Data] = []
        var offset = 0
        func uint32(at i: Int) -> UInt32 {
            (0..<4).reduce(0) { $0 | UInt32(data[data.startIndex + i + $1]) << (8 * UInt32($1)) }
        }
        while offset < data.count {
            guard data.count - offset >= 12 else {
                throw RunFileError(path: path, "truncated record header at byte \(offset)")
            }
            let lengthBytes = data.subdata(in: data.startIndex + offset..<data.startIndex + offset + 8)
            let length = lengthBytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
            guard CRC32C.masked(CRC32C.checksum(lengthBytes)) == uint32(at: offset + 8) else {
                throw RunFileError(path: path, "length CRC mismatch in the record at byte \(offset) (corrupt file)")
            }
            let remaining = data.count - offset - 12
            guard remaining >= 4, length <= UInt64(remaining - 4) else {
                throw RunFileError(path: path, "record at byte \(offset) claims \(length) bytes but the file ends first (truncated)")
            }
            let start = offset + 12
            let payload = data.subdata(in: data.startIndex + start..<data.startIndex + start + Int(length))
            guard CRC32C.masked(CRC32C.checksum(payload)) == uint32(at: start + Int(length)) else {
                throw RunFileError(path: path, "data CRC mismatch in the record at byte \(offset) (corrupt file)")
            }
            records.append(payload)
            offset = start + Int(length) + 4
        }
        return records
    }

    /// Every event in `url`, decoded.
    public static func events(_ url: URL) throws -> [TensorBoardEvent] {
        try records(url).enumerated().map { index, record in
            do {
                return try decodeEvent(record)
            } catch let error as ProtobufReader.Malformed {
                throw RunFileError(path: url.path, "record \(index) is not a valid Event: \(error.message)")
            }
        }
    }

    /// The scalars in `url` in file order.
    public static func scalars(_ url: URL) throws -> [TensorBoardScalar] {
        try events(url).flatMap { event in
            event.values.compactMap { v in v.simpleValue.map { TensorBoardScalar(step: event.step, tag: v.tag, value: $0) } }
        }
    }

    static func decodeEvent(_ data: Data) throws(ProtobufReader.Malformed) -> TensorBoardEvent {
        var event = TensorBoardEvent(wallTime: 0, step: 0, fileVersion: nil, values: [])
        var reader = ProtobufReader(data)
        while let (field, value) = try reader.next() {
            switch (field, value) {
            case (1, .fixed64(let bits)): event.wallTime = Double(bitPattern: bits)
            case (2, .varint): event.step = value.int ?? 0
            case (3, .bytes): event.fileVersion = value.string
            case (5, .bytes(let summary)):
                var s = ProtobufReader(summary)
                while let (f, v) = try s.next() {
                    if f == 1, let bytes = v.data { event.values.append(try decodeValue(bytes)) }
                }
            default: break
            }
        }
        return event
    }

    private static func decodeValue(_ data: Data) throws(ProtobufReader.Malformed) -> TensorBoardEvent.Value {
        var result = TensorBoardEvent.Value(tag: "", simpleValue: nil, image: nil, text: nil)
        var reader = ProtobufReader(data)
        while let (field, value) = try reader.next() {
            switch (field, value) {
            case (1, .bytes): result.tag = value.string ?? ""
            case (2, .fixed32(let bits)): result.simpleValue = Float(bitPattern: bits)
            case (4, .bytes(let bytes)):
                var image = TensorBoardEvent.Image(width: 0, height: 0, colorspace: 0, encoded: Data())
                var r = ProtobufReader(bytes)
                while let (f, v) = try r.next() {
                    switch f {
                    case 1: image.height = v.int ?? 0
                    case 2: image.width = v.int ?? 0
                    case 3: image.colorspace = v.int ?? 0
                    case 4: image.encoded = v.data ?? Data()
                    default: break
                    }
                }
                result.image = image
            case (8, .bytes(let bytes)):
                var r = ProtobufReader(bytes)
                while let (f, v) = try r.next() {
                    if f == 8, result.text == nil { result.text = v.string }
                }
            default: break
            }
        }
        return result
    }
}
