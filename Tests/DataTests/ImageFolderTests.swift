import Foundation
import Testing
@testable import AutoProg

@Suite struct ImageFolderTests {
    /// cats/{a,b}.png (gray 4×4 and RGBA 2×2) and dogs/c.png (RGB 4×4), plus files to ignore.
    func makeFolder() throws -> URL {
        let dir = try makeTemporaryDirectory()
        for name in ["dogs", "cats", ".hidden"] {
            try FileManager.default.createDirectory(at: dir.appendingPathComponent(name), withIntermediateDirectories: true)
        }
        try PNG.write(Tensor.full([1, 4, 4], 0.4), to: dir.appendingPathComponent("cats/a.png"))
        try PNG.write(try Tensor([1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0], shape: [4, 2, 2]),
                      to: dir.appendingPathComponent("cats/b.png"))
        try PNG.write(Tensor.full([3, 4, 4], 0.2), to: dir.appendingPathComponent("dogs/c.png"))
        try Data("notes".utf8).write(to: dir.appendingPathComponent("dogs/readme.txt"))
        try PNG.write(Tensor.full([1, 4, 4], 0.4), to: dir.appendingPathComponent(".hidden/x.png"))
        return dir
    }

    @Test func classesAreSortedFoldersAndImagesAreConverted() throws {
        let dir = try makeFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = try ImageFolder(directory: dir, imageSize: 4)
        #expect(data.classNames == ["cats", "dogs"])
        #expect(data.count == 3 && data.imageShape == [3, 4, 4])
        let batch = try data.batch([0, 1, 2])
        #expect(batch.labels == [0, 0, 1])
        let x = batch.images
        #expect(x[0, 0, 1, 1] == Float(102) / 255 && x[0, 2, 3, 3] == Float(102) / 255)   // gray copied to RGB
        #expect(x[2, 1, 2, 2] == Float(51) / 255)
        // b.png: red, opaque in its top row, transparent below; composited on white, upsampled 2×.
        #expect(x[1, 0, 0, 0] == 1 && x[1, 1, 0, 0] == 0)
        #expect(x[1, 1, 3, 3] == 1)
        let gray = try ImageFolder(directory: dir, imageSize: 2, channels: 1, background: 0)
        #expect(try gray.batch([1]).images.toArray() == [0.299, 0.299, 0, 0])
    }

    @Test func resizeMatchesTheEngineBilinearResize() throws {
        let dir = try makeFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = try ImageFolder(directory: dir, imageSize: 3)
        let direct = try PNG.read(dir.appendingPathComponent("dogs/c.png"))
        let expected = try resize(direct.reshaped([1, 3, 4, 4]), height: 3, width: 3, mode: .bilinear)
        #expect(try data.batch([2]).images.toArray() == expected.toArray())
    }

    @Test func badFoldersAndFilesAreErrors() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(throws: DatasetError.self) { try ImageFolder(directory: dir, imageSize: 8) }
        #expect(throws: DatasetError.self) { try ImageFolder(directory: dir.appendingPathComponent("missing"), imageSize: 8) }
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("k"), withIntermediateDirectories: true)
        try Data("garbage".utf8).write(to: dir.appendingPathComponent("k/bad.png"))
        let data = try ImageFolder(directory: dir, imageSize: 8)
        #expect(throws: PNGError.self) { try data.batch([0]) }
        #expect(throws: DatasetError.self) { try ImageFolder(directory: dir, imageSize: 0) }
    }
}
