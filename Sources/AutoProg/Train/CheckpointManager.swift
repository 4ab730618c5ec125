import Foundation

/// The `checkpoints/` directory of a run: `step-<N>.safetensors` files, a `latest` file
/// naming the newest, and the keep-last-N policy.
///
/// Crash safety comes from ordering: the checkpoint is written atomically (temp file,
/// fsync, rename) before `latest` is atomically replaced to name it, and old checkpoints
/// are deleted only after that. A crash at any point leaves `latest` naming a complete
/// file (the previous checkpoint if the crash came before the switch).
public final class CheckpointManager {
    public let directory: URL
    public let keepLast: Int
    /// Writes one checkpoint file; replaceable so tests can fail a save part-way.
    var writeFile: (StateDict, [String: String], URL) throws -> Void = { try SafeTensors.write($0, metadata: $1, to: $2) }

    /// Opens (creating if needed) `directory`. Temporary files left by a save that crashed
    /// are deleted, as they can be as large as a checkpoint and are never complete.
    public init(directory: URL, keepLast: Int) throws {
        guard keepLast >= 1 else {
            throw RunFileError(path: directory.path, "keepLast must be at least 1, got \(keepLast)")
        }
        self.directory = directory
        self.keepLast = keepLast
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for name in try FileManager.default.contentsOfDirectory(atPath: directory.path)
        where CheckpointManager.isTemporary(name) {
            try? FileManager.default.removeItem(at: directory.appendingPathComponent(name))
        }
    }

    public var latestPointerURL: URL { directory.appendingPathComponent("latest") }

    /// Saves a checkpoint for `step` and makes it `latest`, then deletes the oldest
    /// checkpoints beyond `keepLast` (never the one just saved: after resuming from an
    /// earlier step, stale later-step files from the abandoned run may still sort after it).
    @discardableResult
    public func save(_ tensors: StateDict, metadata: [String: String], step: Int) throws -> URL {
        guard step >= 0 else { throw RunFileError(path: directory.path, "checkpoint step must be non-negative, got \(step)") }
        let name = CheckpointManager.fileName(step: step)
        let url = directory.appendingPathComponent(name)
        try writeFile(tensors, metadata, url)
        try AtomicFile.write(Data((name + "\n").utf8), to: latestPointerURL)
        for old in checkpoints.dropLast(keepLast) where old.lastPathComponent != name {
            try FileManager.default.removeItem(at: old)
        }
        return url
    }

    /// The checkpoint `latest` names, or nil before the first save. Throws when `latest`
    /// names a file that is missing or not a valid safetensors file.
    public func latest() throws -> URL? {
        guard FileManager.default.fileExists(atPath: latestPointerURL.path) else { return nil }
        let name = try String(contentsOf: latestPointerURL, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !name.isEmpty, !name.contains("/") else {
            throw RunFileError(path: latestPointerURL.path, "does not name a checkpoint file (contains \"\(name)\")")
        }
        let url = directory.appendingPathComponent(name)
        try CheckpointManager.validate(url, namedBy: latestPointerURL.path)
        return url
    }

    /// The checkpoint a `--resume` argument means: "latest" (this directory's `latest`), a
    /// safetensors file path, a bare file name in this directory, or a run or checkpoints
    /// directory (its `latest`). Relative paths are taken from the current directory.
    public func resolve(_ spec: String) throws -> URL {
        if spec == "latest" {
            guard let url = try latest() else {
                throw RunFileError(path: directory.path, "no checkpoint to resume from (no `latest` file)")
            }
            return url
        }
        let fm = FileManager.default
        var url = URL(fileURLWithPath: spec)
        if !fm.fileExists(atPath: url.path), !spec.contains("/"),
           fm.fileExists(atPath: directory.appendingPathComponent(spec).path) {
            url = directory.appendingPathComponent(spec)
        }
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw RunFileError(path: url.path, "no such checkpoint")
        }
        if isDirectory.boolValue {
            for candidate in [url, url.appendingPathComponent("checkpoints")]
            where fm.fileExists(atPath: candidate.appendingPathComponent("latest").path) {
                return try CheckpointManager(directory: candidate, keepLast: keepLast).resolve("latest")
            }
            throw RunFileError(path: url.path, "is a directory without a `latest` checkpoint file")
        }
        try CheckpointManager.validate(url, namedBy: nil)
        return url
    }

    /// The `step-<N>.safetensors` files, by increasing step.
    public var checkpoints: [URL] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.compactMap { name in CheckpointManager.step(ofFileName: name).map { (step: $0, name: name) } }
            .sorted { $0.step < $1.step }
            .map { directory.appendingPathComponent($0.name) }
    }

    /// The step of a `step-<N>.safetensors` file, or nil for any other name.
    public static func step(of url: URL) -> Int? {
        step(ofFileName: url.lastPathComponent)
    }

    static func fileName(step: Int) -> String { "step-\(step).safetensors" }

    private static func step(ofFileName name: String) -> Int? {
        guard name.hasPrefix("step-"), name.hasSuffix(".safetensors") else { return nil }
        let digits = name.dropFirst(5).dropLast(12)
        guard !digits.isEmpty, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber) else { return nil }
        return Int(digits)
    }

    /// `AtomicFile`'s temporary names: ".<target>.tmp-<pid>-<random>".
    private static func isTemporary(_ name: String) -> Bool {
        name.hasPrefix(".") && name.contains(".tmp-")
            && (name.hasPrefix(".step-") || name.hasPrefix(".latest."))
    }

    private static func validate(_ url: URL, namedBy pointer: String?) throws {
        guard FileManager.default.fileExists(atPath: url.path) else {
            if let pointer {
                throw RunFileError(path: pointer, "names \(url.lastPathComponent), which does not exist")
            }
            throw RunFileError(path: url.path, "no such checkpoint")
        }
        _ = try SafeTensors.readHeader(url)
    }
}
