import Foundation
import Testing
@testable import AutoProg

@Suite struct FashionMNISTTests {
    @Test func parsesGzippedIDXAndScalesPixels() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try writeTinyFashionMNIST(in: dir, count: 5)
        let data = try FashionMNIST(split: .train, directory: dir)
        #expect(data.count == 5)
        #expect(data.imageShape == [1, 3, 2])
        #expect(data.classNames[9] == "Ankle boot")
        let batch = try data.batch([4, 1])
        #expect(batch.images.shape == [2, 1, 3, 2])
        #expect(batch.labels == [4, 1])
        #expect(batch.indices == [4, 1])
        let expected: [Float] = [68, 69, 70, 71, 72, 73, 17, 18, 19, 20, 21, 22].map { $0 / 255 }
        #expect(batch.images.toArray() == expected)
        #expect(throws: DatasetError.self) { try data.batch([5]) }
    }

    @Test func testSplitReadsTheT10kFiles() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try writeTinyFashionMNIST(in: dir, prefix: "t10k", count: 3)
        #expect(try FashionMNIST(split: .test, directory: dir).count == 3)
        #expect(throws: DatasetError.self) { try FashionMNIST(split: .train, directory: dir) }
    }

    /// Every malformed file is an error naming that file.
    @Test func corruptFilesAreErrorsNamingTheFile() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let images = dir.appendingPathComponent("train-images-idx3-ubyte.gz")
        let labels = dir.appendingPathComponent("train-labels-idx1-ubyte.gz")
        func expectError(naming file: URL, containing text: String) {
            do {
                _ = try FashionMNIST(split: .train, directory: dir)
                Issue.record("expected an error about \(file.lastPathComponent)")
            } catch let error as DatasetError {
                #expect(error.path == file.path, "\(error)")
                #expect(error.message.contains(text), "\(error)")
            } catch {
                Issue.record("unexpected \(error)")
            }
        }
        try writeTinyFashionMNIST(in: dir, count: 4)
        try writeGzip(idxBytes(dimensions: [4, 3, 2], data: [UInt8](repeating: 0, count: 24), magic: 0x0000_0801), to: images)
        expectError(naming: images, containing: "magic")

        try writeTinyFashionMNIST(in: dir, count: 4)
        try writeGzip(idxBytes(dimensions: [4, 3, 2], data: [UInt8](repeating: 0, count: 23)), to: images)
        expectError(naming: images, containing: "truncated")

        try writeTinyFashionMNIST(in: dir, count: 4)
        try writeGzip(Array(idxBytes(dimensions: [4], data: [0, 1, 2, 3]).prefix(6)), to: labels)
        expectError(naming: labels, containing: "truncated")

        try writeTinyFashionMNIST(in: dir, count: 4, labels: [0, 1, 2])
        expectError(naming: labels, containing: "3 labels for 4 images")

        try writeTinyFashionMNIST(in: dir, count: 4, labels: [0, 1, 10, 3])
        expectError(naming: labels, containing: "label 10")

        // A gzip stream cut short mid-way (its end and CRC missing) is corrupt, not silently short.
        try writeTinyFashionMNIST(in: dir, count: 4)
        let whole = try Data(contentsOf: images)
        try whole.prefix(whole.count - 12).write(to: images)
        expectError(naming: images, containing: "corrupt gzip")
    }

    @Test func missingDatasetSaysWhichPackageToInstall() throws {
        let dir = URL(fileURLWithPath: "/nonexistent/autoprog-fashion-mnist")
        do {
            _ = try FashionMNIST(split: .train, directory: dir)
            Issue.record("expected an error")
        } catch let error as DatasetError {
            #expect(error.message.contains("sudo apt-get install dataset-fashion-mnist"))
            #expect(error.message.contains(dir.path))
        }
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")))
    func realDataset() throws {
        let dir = URL(fileURLWithPath: "/usr/share/datasets/fashion-mnist")
        let train = try FashionMNIST(split: .train, directory: dir)
        let test = try FashionMNIST(split: .test, directory: dir)
        #expect(train.count == 60000 && test.count == 10000)
        #expect(train.imageShape == [1, 28, 28])
        let first = try train.batch([0, 59999])
        #expect(first.labels[0] == 9 && train.classNames[first.labels[0]] == "Ankle boot")
        let pixels = first.images.toArray()
        #expect(pixels.min() == 0 && pixels.max() == 1)
        #expect(pixels.allSatisfy { abs(($0 * 255).rounded() - $0 * 255) < 1e-4 })
        // Every class occurs in the test split, 1,000 times each.
        let labels = try test.batch(Array(0..<10000)).labels
        #expect((0..<10).allSatisfy { c in labels.filter { $0 == c }.count == 1000 })
    }
}

@Suite struct ClassSubsetTests {
    @Test func keepsTheClassesAndRelabelsThemInOrder() throws {
        let base = CountingDataset(count: 30)  // example i has label i % 7
        let subset = try ClassSubset(base, classes: [2, 0])
        let baseLabels = (0..<30).map { $0 % 7 }
        #expect(try base.allLabels() == baseLabels)
        let expected = (0..<30).filter { [2, 0].contains($0 % 7) }
        #expect(subset.count == expected.count)
        #expect(subset.classNames == [base.classNames[2], base.classNames[0]])
        let batch = try subset.batch(Array(0..<subset.count))
        #expect(batch.labels == expected.map { baseLabels[$0] == 2 ? 0 : 1 })
        #expect(subset.labels == batch.labels)
        #expect(throws: DatasetError.self) { try ClassSubset(base, classes: [99]) }
        #expect(throws: DatasetError.self) { try ClassSubset(base, classes: [1, 1]) }
        #expect(throws: DatasetError.self) { try ClassSubset(base, classes: []) }
    }
}
