import Foundation
import Testing
@testable import AutoProg

@Suite struct CheckpointManagerTests {
    private func state(_ value: Float) -> StateDict {
        ["w": Tensor([value, value + 1])]
    }

    @Test func keepsTheLastNAndPointsLatestAtTheNewest() throws {
        let tmp = try TemporaryDirectory()
        let manager = try CheckpointManager(directory: tmp.file("checkpoints"), keepLast: 2)
        #expect(try manager.latest() == nil)
        for step in [100, 200, 300, 1000] {
            let url = try manager.save(state(Float(step)), metadata: ["step": "\(step)"], step: step)
            #expect(url.lastPathComponent == "step-\(step).safetensors")
            #expect(try manager.latest() == url)
        }
        #expect(manager.checkpoints.map(\.lastPathComponent) == ["step-300.safetensors", "step-1000.safetensors"])
        #expect(try tmp.read("checkpoints/latest") == "step-1000.safetensors\n")
        let loaded = try SafeTensors.read(try #require(try manager.latest()))
        #expect(loaded.tensors["w"]?.toArray() == [1000, 1001])
        #expect(loaded.metadata["step"] == "1000")
        #expect(CheckpointManager.step(of: manager.checkpoints[0]) == 300)
        #expect(throws: RunFileError.self) { try CheckpointManager(directory: tmp.url, keepLast: 0) }
    }

    @Test func aFailedSaveLeavesLatestUnchanged() throws {
        let tmp = try TemporaryDirectory()
        let manager = try CheckpointManager(directory: tmp.url, keepLast: 1)
        let good = try manager.save(state(1), metadata: [:], step: 1)
        // "__metadata__" is a reserved name, so the tensor write throws before any rename.
        #expect(throws: CheckpointError.self) {
            try manager.save(["__metadata__": Tensor([0])], metadata: [:], step: 2)
        }
        #expect(try manager.latest() == good)
        #expect(manager.checkpoints == [good])
        #expect(try FileManager.default.contentsOfDirectory(atPath: tmp.url.path).sorted() == ["latest", "step-1.safetensors"])

        // A write that fails half-way through the tensor data (a full disk, say).
        struct DiskFull: Error {}
        manager.writeFile = { _, _, url in
            try AtomicFile.write(to: url) { handle in
                try handle.write(contentsOf: Data(repeating: 7, count: 64))
                throw DiskFull()
            }
        }
        #expect(throws: DiskFull.self) { try manager.save(state(3), metadata: [:], step: 3) }
        #expect(try manager.latest() == good)
        #expect(try SafeTensors.read(good).tensors["w"]?.toArray() == [1, 2])
        #expect(try FileManager.default.contentsOfDirectory(atPath: tmp.url.path).sorted() == ["latest", "step-1.safetensors"])
    }

    @Test func strayTemporaryFilesAreIgnoredAndCleanedUp() throws {
        let tmp = try TemporaryDirectory()
        let manager = try CheckpointManager(directory: tmp.url, keepLast: 3)
        let good = try manager.save(state(1), metadata: [:], step: 5)
        // What a crash in the middle of AtomicFile.write leaves behind.
        try Data("partial".utf8).write(to: tmp.file(".step-9.safetensors.tmp-123-abc"))
        try Data("step-9.safetensors".utf8).write(to: tmp.file(".latest.tmp-123-def"))
        #expect(manager.checkpoints == [good])
        #expect(try manager.latest() == good)
        _ = try CheckpointManager(directory: tmp.url, keepLast: 3)
        #expect(try FileManager.default.contentsOfDirectory(atPath: tmp.url.path).sorted() == ["latest", "step-5.safetensors"])
    }

    @Test func latestNamingAMissingOrCorruptFileThrows() throws {
        let tmp = try TemporaryDirectory()
        let manager = try CheckpointManager(directory: tmp.url, keepLast: 2)
        try manager.save(state(1), metadata: [:], step: 1)
        try Data("step-7.safetensors\n".utf8).write(to: tmp.file("latest"))
        #expect(throws: RunFileError.self) { try manager.latest() }
        try Data("garbage".utf8).write(to: tmp.file("step-7.safetensors"))
        #expect(throws: CheckpointError.self) { try manager.latest() }
        try Data("../escape\n".utf8).write(to: tmp.file("latest"))
        #expect(throws: RunFileError.self) { try manager.latest() }
    }

    @Test func resolvesLatestPathsNamesAndDirectories() throws {
        let tmp = try TemporaryDirectory()
        let run = try RunDirectory(root: tmp.url, name: "r")
        let manager = try CheckpointManager(directory: run.checkpointsURL, keepLast: 5)
        #expect(throws: RunFileError.self) { try manager.resolve("latest") }
        let first = try manager.save(state(1), metadata: [:], step: 10)
        let second = try manager.save(state(2), metadata: [:], step: 20)
        #expect(try manager.resolve("latest") == second)
        #expect(try manager.resolve(first.path) == first)
        #expect(try manager.resolve("step-10.safetensors") == first)
        #expect(try manager.resolve(run.url.path).standardizedFileURL.path == second.standardizedFileURL.path)
        #expect(try manager.resolve(run.checkpointsURL.path).standardizedFileURL.path == second.standardizedFileURL.path)
        #expect(throws: RunFileError.self) { try manager.resolve(tmp.file("nope.safetensors").path) }
        try Data("x".utf8).write(to: tmp.file("bad.safetensors"))
        #expect(throws: CheckpointError.self) { try manager.resolve(tmp.file("bad.safetensors").path) }
    }

    @Test func resumingFromAnEarlierStepNeverDeletesTheNewSave() throws {
        let tmp = try TemporaryDirectory()
        let manager = try CheckpointManager(directory: tmp.url, keepLast: 1)
        try manager.save(state(1), metadata: [:], step: 200)
        let earlier = try manager.save(state(2), metadata: [:], step: 150)
        #expect(try manager.latest() == earlier)
        #expect(FileManager.default.fileExists(atPath: earlier.path))
    }
}
