import Foundation

/// A fresh empty directory under the system temporary directory, removed when released.
final class TemporaryDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("autoprog-train-tests-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    func file(_ name: String) -> URL { url.appendingPathComponent(name) }

    func read(_ name: String) throws -> String { try String(contentsOf: file(name), encoding: .utf8) }
}

/// Copies a file a test wrote into `$AUTOPROG_TEST_OUTPUT` when that is set, so it can be
/// checked by outside tools (validate_notebook.py, TensorBoard's own event reader).
func keepForInspection(_ url: URL) {
    guard let directory = ProcessInfo.processInfo.environment["AUTOPROG_TEST_OUTPUT"] else { return }
    let target = URL(fileURLWithPath: directory).appendingPathComponent(url.lastPathComponent)
    try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    try? FileManager.default.removeItem(at: target)
    try? FileManager.default.copyItem(at: url, to: target)
}
