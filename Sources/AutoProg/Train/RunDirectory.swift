import Foundation

/// The directory holding everything one training run writes (DESIGN §4):
/// `config.json`, `metrics.jsonl`, `summary.csv`, the TensorBoard event file,
/// `checkpoints/`, `samples/`, `schedule.json` and `notebook.ipynb`.
public final class RunDirectory {
    public let url: URL

    /// Creates `<root>/<name>-<yyyymmdd-hhmmss>` (local time) with `checkpoints/` and
    /// `samples/`; if that directory exists (two runs started in the same second) the
    /// name gets `-2`, `-3`, ... The directory is claimed with `mkdir`, which fails if it
    /// exists, so concurrent runs never share one.
    public init(root: URL, name: String, date: Date = Date()) throws {
        guard !name.isEmpty, !name.contains("/"), name != ".", name != ".." else {
            throw RunFileError(path: root.path, "invalid run name \"\(name)\" (must be non-empty without '/')")
        }
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let base = name + "-" + RunDirectory.timestamp(date)
        var candidate = root.appendingPathComponent(base)
        var suffix = 1
        while mkdir(candidate.path, 0o777) != 0 {
            guard errno == EEXIST else { throw RunFileError.posix(candidate.path, while: "creating the run directory") }
            suffix += 1
            candidate = root.appendingPathComponent("\(base)-\(suffix)")
        }
        url = candidate
        for sub in [checkpointsURL, samplesURL] {
            try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: true)
        }
    }

    /// Opens the directory of an earlier run to resume it. It must hold `config.json` and
    /// `checkpoints/`; `samples/` is recreated if it was deleted.
    public init(existing url: URL) throws {
        self.url = url.standardizedFileURL
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw RunFileError(path: url.path, "no such run directory")
        }
        guard FileManager.default.fileExists(atPath: configURL.path) else {
            throw RunFileError(path: url.path, "not a run directory (no config.json)")
        }
        guard FileManager.default.fileExists(atPath: checkpointsURL.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw RunFileError(path: url.path, "not a run directory (no checkpoints/ directory)")
        }
        try FileManager.default.createDirectory(at: samplesURL, withIntermediateDirectories: true)
    }

    /// Writes `config.json` atomically, pretty-printed with a trailing newline.
    public func writeConfig(_ config: JSONValue) throws {
        try AtomicFile.write(Data((config.prettyPrinted() + "\n").utf8), to: configURL)
    }

    public func readConfig() throws -> JSONValue {
        let text: String
        do {
            text = try String(contentsOf: configURL, encoding: .utf8)
        } catch {
            throw RunFileError(path: configURL.path, "cannot read: \(error.localizedDescription)")
        }
        do {
            return try JSONValue.parse(text)
        } catch let error as JSONParseError {
            throw RunFileError(path: configURL.path, error.description)
        }
    }

    public var configURL: URL { url.appendingPathComponent("config.json") }
    public var metricsURL: URL { url.appendingPathComponent("metrics.jsonl") }
    public var summaryURL: URL { url.appendingPathComponent("summary.csv") }
    public var checkpointsURL: URL { url.appendingPathComponent("checkpoints", isDirectory: true) }
    public var samplesURL: URL { url.appendingPathComponent("samples", isDirectory: true) }
    public var notebookURL: URL { url.appendingPathComponent("notebook.ipynb") }
    public var scheduleURL: URL { url.appendingPathComponent("schedule.json") }
    /// Where the TensorBoard event files go: the run directory itself, so
    /// `tensorboard --logdir runs/` shows one run per directory.
    public var tensorBoardURL: URL { url }

    /// `yyyyMMdd-HHmmss` in the local time zone.
    static func timestamp(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.calendar = Calendar(identifier: .gregorian)
        formatter.timeZone = TimeZone.current
        formatter.dateFormat = "yyyyMMdd-HHmmss"
        return formatter.string(from: date)
    }
}
