import Foundation
import Testing
@testable import AutoProg

@Suite struct AtomicFileTests {
    struct BodyFailure: Error {}

    @Test func createsAndReplacesWithoutLeavingTemporaryFiles() throws {
        let dir = try ScratchDirectory()
        defer { dir.remove() }
        let url = dir.file("run.json")
        try AtomicFile.write(Data("first".utf8), to: url)
        #expect(try Data(contentsOf: url) == Data("first".utf8))
        try AtomicFile.write(to: url) { handle in
            try handle.write(contentsOf: Data("sec".utf8))
            try handle.write(contentsOf: Data("ond".utf8))
        }
        #expect(try Data(contentsOf: url) == Data("second".utf8))
        #expect(try dir.listing() == ["run.json"])
    }

    @Test func failingBodyLeavesOldFileIntactAndRethrows() throws {
        let dir = try ScratchDirectory()
        defer { dir.remove() }
        let url = dir.file("model.safetensors")
        try AtomicFile.write(Data("old contents".utf8), to: url)
        #expect(throws: BodyFailure.self) {
            try AtomicFile.write(to: url) { handle in
                try handle.write(contentsOf: Data("half-written new contents".utf8))
                throw BodyFailure()
            }
        }
        #expect(try Data(contentsOf: url) == Data("old contents".utf8))
        #expect(try dir.listing() == ["model.safetensors"])
    }

    #if os(Linux)
    /// A real ENOSPC from the kernel (/dev/full) raised inside the body becomes a clear
    /// error naming the target, and the old file survives.
    @Test func fullDiskIsAClearErrorNamingThePath() throws {
        let dir = try ScratchDirectory()
        defer { dir.remove() }
        let url = dir.file("metrics.jsonl")
        try AtomicFile.write(Data("old".utf8), to: url)
        let full = try #require(FileHandle(forWritingAtPath: "/dev/full"))
        defer { try? full.close() }
        do {
            try AtomicFile.write(to: url) { _ in try full.write(contentsOf: Data(repeating: 1, count: 4096)) }
            Issue.record("writing to /dev/full did not fail")
        } catch let error as AtomicFileError {
            #expect(error.isDiskFull)
            #expect(error.path == url.path)
            #expect(error.description.contains(url.path))
            #expect(error.description.contains("no space left"))
        }
        #expect(try Data(contentsOf: url) == Data("old".utf8))
        #expect(try dir.listing() == ["metrics.jsonl"])
    }
    #endif

    @Test func missingDirectoryIsAnErrorNamingThePath() throws {
        let dir = try ScratchDirectory()
        defer { dir.remove() }
        let url = dir.file("no/such/dir/file.txt")
        do {
            try AtomicFile.write(Data("x".utf8), to: url)
            Issue.record("write into a missing directory succeeded")
        } catch let error as AtomicFileError {
            #expect(error.code == ENOENT)
            #expect(error.description.contains(url.path))
        }
    }

    @Test func renameOverADirectoryFailsAndCleansUp() throws {
        let dir = try ScratchDirectory()
        defer { dir.remove() }
        let url = dir.file("occupied")
        try FileManager.default.createDirectory(at: url.appendingPathComponent("child"), withIntermediateDirectories: true)
        #expect(throws: AtomicFileError.self) { try AtomicFile.write(Data("x".utf8), to: url) }
        #expect(try dir.listing() == ["occupied"])
    }
}
