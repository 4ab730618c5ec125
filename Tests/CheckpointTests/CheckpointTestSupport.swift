import Foundation
import Testing
@testable import AutoProg

/// A fresh directory under the system temporary directory, removed by `remove()`.
struct ScratchDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("autoprog-checkpoint-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> URL { url.appendingPathComponent(name) }

    /// Names in the directory, sorted (to check no temporary files are left behind).
    func listing() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: url.path).sorted() }

    func remove() { try? FileManager.default.removeItem(at: url) }
}

/// The committed fixtures next to this file (not SwiftPM resources, so the tests read them
/// from the source tree).
enum Fixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    static func url(_ name: String) -> URL { directory.appendingPathComponent(name) }
}

/// Bytes of a safetensors file with the given header text (unpadded) and data bytes;
/// `length` overrides the 8-byte header-length field.
func safetensorsBytes(header: String, data: [UInt8] = [], length: UInt64? = nil) -> Data {
    var out = Data()
    withUnsafeBytes(of: (length ?? UInt64(header.utf8.count)).littleEndian) { out.append(contentsOf: $0) }
    out.append(contentsOf: Array(header.utf8))
    out.append(contentsOf: data)
    return out
}

func bitPatterns(_ t: Tensor) -> [UInt32] { t.toArray().map(\.bitPattern) }

/// Runs `body`, which must throw a `CheckpointError` for `url` whose message contains
/// `fragment`; records an issue otherwise.
func expectCheckpointError(_ url: URL, containing fragment: String, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void) {
    do {
        try body()
        Issue.record("expected a CheckpointError containing \"\(fragment)\", but nothing was thrown", sourceLocation: sourceLocation)
    } catch let error as CheckpointError {
        #expect(error.path == url.path, sourceLocation: sourceLocation)
        #expect(error.description.contains(url.lastPathComponent), sourceLocation: sourceLocation)
        #expect(error.message.contains(fragment), "message was: \(error.message)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected a CheckpointError, got \(type(of: error)): \(error)", sourceLocation: sourceLocation)
    }
}
