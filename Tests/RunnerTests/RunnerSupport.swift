import Foundation
@testable import AutoProg

/// Runs the autoprog-run binary built beside the test bundle.
struct Runner {
    static let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        .appendingPathComponent("autoprog-run")
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    /// The repository's own recipes (scripts/).
    static let scripts = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("scripts")
    static var haveFashionMNIST: Bool { FileManager.default.fileExists(atPath: "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz") }

    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
        /// The run directory the runner announced on stderr.
        var runDirectory: URL? {
            stderr.split(separator: "\n").first { $0.hasPrefix("run directory: ") }
                .map { URL(fileURLWithPath: String($0.dropFirst("run directory: ".count))) }
        }
    }

    let workDirectory: URL

    init() throws {
        workDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("autoprog-runner-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: workDirectory, withIntermediateDirectories: true)
    }

    func recipe(_ name: String) -> String { Runner.fixtures.appendingPathComponent(name).path }

    /// Starts the runner; `input` is written to its stdin, which is then closed.
    func start(_ arguments: [String], input: String? = nil) throws -> (Process, Pipe, Pipe, Pipe) {
        let p = Process()
        p.executableURL = Runner.binary
        p.arguments = arguments
        p.currentDirectoryURL = workDirectory
        let out = Pipe(), err = Pipe(), inp = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = inp
        try p.run()
        if let input { inp.fileHandleForWriting.write(Data(input.utf8)) }
        return (p, out, err, inp)
    }

    func run(_ arguments: [String], input: String = "") throws -> Result {
        let (p, out, err, inp) = try start(arguments)
        inp.fileHandleForWriting.write(Data(input.utf8))
        try inp.fileHandleForWriting.close()
        // Read both pipes concurrently so a full pipe never blocks the child.
        nonisolated(unsafe) var errData = Data()
        let reader = Thread { errData = err.fileHandleForReading.readDataToEndOfFile() }
        reader.start()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        while !reader.isFinished { usleep(1000) }
        return Result(status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self))
    }

    /// The per-step losses of a run's metrics.jsonl, in order.
    static func losses(_ run: URL) throws -> [String] {
        let text = try String(contentsOf: run.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
        return try text.split(separator: "\n").compactMap { line -> String? in
            guard case .object(let o) = try JSONValue.parse(String(line)), let loss = o["loss"] else { return nil }
            return "step \(o["step"]!.serialized): loss \(loss.serialized)"
        }
    }
}
