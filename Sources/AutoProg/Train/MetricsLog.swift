import Foundation

/// `metrics.jsonl`: one JSON object per line, one line per logged step.
///
/// Each `append` is a single `write(2)` of a complete line, so the file is always readable
/// while training runs (`tail -f`, pandas `read_json(lines=True)`) and a crash loses at
/// most the line being written.
public final class MetricsLog {
    public let url: URL
    private let file: AppendingFile

    /// Opens (creating if needed) the log for appending.
    ///
    /// When resuming from a checkpoint at step `s`, pass `truncatingAfterStep: s`: the file
    /// is cut (atomically) before the first line whose `"step"` exceeds `s`, dropping what
    /// the interrupted run logged after its last checkpoint, so the resumed run's file ends
    /// up identical to an uninterrupted run's. A final line torn by a crash (no newline) is
    /// always dropped. Lines that are not JSON objects are kept as they are.
    public init(url: URL, truncatingAfterStep step: Int? = nil) throws {
        self.url = url
        if FileManager.default.fileExists(atPath: url.path) {
            let original = try Data(contentsOf: url)
            let kept = MetricsLog.keptPrefix(of: original, afterStep: step)
            if kept.count != original.count { try AtomicFile.write(kept, to: url) }
        }
        file = try AppendingFile(path: url.path)
    }

    /// Appends `record` (which must be an object) as one line.
    public func append(_ record: JSONValue) throws {
        guard case .object = record else {
            throw RunFileError(path: url.path, "a metrics record must be a JSON object, got \(record.serialized)")
        }
        try file.append(Data((record.serialized + "\n").utf8))
    }

    /// Forces the appended lines to disk (they are already visible to readers). Failures
    /// are ignored: durability of a log is not worth stopping training over.
    public func flush() {
        try? file.sync()
    }

    /// The complete lines of `data` before the first one whose step is beyond `step`.
    static func keptPrefix(of data: Data, afterStep step: Int?) -> Data {
        guard let lastNewline = data.lastIndex(of: UInt8(ascii: "\n")) else { return Data() }
        let complete = data[data.startIndex...lastNewline]
        guard let step else { return Data(complete) }
        var end = complete.startIndex
        for line in complete.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).dropLast() {
            if let text = String(data: Data(line), encoding: .utf8),
               let value = try? JSONValue.parse(text),
               let s = value["step"]?.intValue, s > step {
                break
            }
            end = line.endIndex + 1
        }
        return Data(complete[complete.startIndex..<end])
    }
}
