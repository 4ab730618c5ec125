import Foundation

/// Writes a TensorBoard event file (`torch.utils.tensorboard.SummaryWriter`'s format).
///
/// The file is `events.out.tfevents.<unix time>.<hostname>` in `directory` and is a
/// sequence of TFRecords: a little-endian UInt64 length, the masked CRC-32C of those 8
/// bytes, the serialized `tensorflow.Event` protobuf, and its masked CRC-32C. The first
/// event names the file version ("brain.Event:2"). Every event is written with one
/// `write(2)` as it is added, so TensorBoard sees it live and a crash loses nothing that
/// was added; `flush()` additionally forces the file to disk. A resumed run opens a new
/// file in the same directory, which TensorBoard reads alongside the old one.
public final class TensorBoardWriter {
    public let url: URL
    private let file: AppendingFile

    public init(directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let base = "events.out.tfevents.\(Int(Date().timeIntervalSince1970)).\(TensorBoardWriter.hostname())"
        // Two writers started in the same second in the same directory get distinct files.
        var name = base
        var suffix = 1
        while FileManager.default.fileExists(atPath: directory.appendingPathComponent(name).path) {
            suffix += 1
            name = base + ".\(suffix)"
        }
        url = directory.appendingPathComponent(name)
        file = try AppendingFile(path: url.path)
        try write { $0.string(3, "brain.Event:2") }
    }

    /// Logs a scalar (`SummaryWriter.add_scalar`).
    public func addScalar(_ tag: String, _ value: Float, step: Int) throws {
        try write(step: step) { event in
            event.message(5) { summary in
                summary.message(1) { v in
                    v.string(1, tag)
                    v.float(2, value)
                }
            }
        }
    }

    /// Logs an already PNG-encoded image (`add_image`); `channels` is 1 (gray), 2 (gray +
    /// alpha), 3 (RGB) or 4 (RGBA), the colorspace TensorBoard records.
    public func addImage(_ tag: String, png: Data, width: Int, height: Int, channels: Int, step: Int) throws {
        guard (1...4).contains(channels), width > 0, height > 0 else {
            throw RunFileError(path: url.path, "image \"\(tag)\" has \(width)x\(height) pixels and \(channels) channels; need positive sizes and 1 to 4 channels")
        }
        try write(step: step) { event in
            event.message(5) { summary in
                summary.message(1) { v in
                    v.string(1, tag)
                    v.message(4) { image in
                        image.int(1, height)
                        image.int(2, width)
                        image.int(3, channels)
                        image.bytes(4, png)
                    }
                }
            }
        }
    }

    /// Logs text (`add_text`): a DT_STRING tensor tagged for TensorBoard's text plugin,
    /// rendered there as Markdown.
    public func addText(_ tag: String, _ text: String, step: Int) throws {
        try write(step: step) { event in
            event.message(5) { summary in
                summary.message(1) { v in
                    v.string(1, tag)
                    v.message(9) { metadata in
                        metadata.message(1) { plugin in plugin.string(1, "text") }
                    }
                    v.message(8) { tensor in
                        tensor.int(1, 7)  // DT_STRING
                        tensor.message(2) { shape in shape.message(2) { dim in dim.int(1, 1) } }
                        tensor.string(8, text)
                    }
                }
            }
        }
    }

    /// Forces everything written so far to disk.
    public func flush() throws {
        try file.sync()
    }

    /// Appends one Event record with the current wall time.
    private func write(step: Int = 0, _ body: (inout ProtobufWriter) -> Void) throws {
        var event = ProtobufWriter()
        event.double(1, Date().timeIntervalSince1970)
        if step != 0 { event.int(2, step) }
        body(&event)
        try file.append(TensorBoardWriter.record(event.data))
    }

    /// `payload` framed as a TFRecord.
    static func record(_ payload: Data) -> Data {
        var out = Data(capacity: payload.count + 16)
        withUnsafeBytes(of: UInt64(payload.count).littleEndian) { length in
            out.append(contentsOf: length)
            withUnsafeBytes(of: CRC32C.masked(CRC32C.checksum(length)).littleEndian) { out.append(contentsOf: $0) }
        }
        out.append(payload)
        withUnsafeBytes(of: CRC32C.masked(CRC32C.checksum(payload)).littleEndian) { out.append(contentsOf: $0) }
        return out
    }

    private static func hostname() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        let name = String(decoding: bytes, as: UTF8.self).replacingOccurrences(of: "/", with: "_")
        return name.isEmpty ? "localhost" : name
    }
}
