import CZlib
import Foundation
@testable import AutoProg

/// A fresh temporary directory, removed when the test is done with it via `defer`.
func makeTemporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("autoprog-data-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Writes `bytes` gzip-compressed with zlib's gzopen/gzwrite (as the Debian files are).
func writeGzip(_ bytes: [UInt8], to url: URL) throws {
    guard let file = gzopen(url.path, "wb") else { throw DatasetError(path: url.path, "gzopen failed") }
    let written = bytes.withUnsafeBytes { gzwrite(file, $0.baseAddress, UInt32($0.count)) }
    guard gzclose(file) == Z_OK, written == Int32(bytes.count) else { throw DatasetError(path: url.path, "gzwrite failed") }
}

/// `v` as four big-endian bytes.
func be(_ v: UInt32) -> [UInt8] {
    withUnsafeBytes(of: v.bigEndian) { Array($0) }
}

/// An IDX byte stream: magic 0x0000_08_<rank>, big-endian sizes, then `data`.
func idxBytes(dimensions: [Int], data: [UInt8], magic: UInt32? = nil) -> [UInt8] {
    var bytes = be(magic ?? (0x0800 | UInt32(dimensions.count)))
    for d in dimensions { bytes += be(UInt32(d)) }
    return bytes + data
}

/// A tiny Fashion-MNIST-shaped split in `directory`: `count` images of 3×2 pixels where
/// pixel j of image i is (17·i + j) mod 256, label i mod 10.
func writeTinyFashionMNIST(in directory: URL, prefix: String = "train", count: Int = 5,
                           labels: [UInt8]? = nil) throws {
    var pixels: [UInt8] = []
    for i in 0..<count {
        for j in 0..<6 { pixels.append(UInt8((17 * i + j) % 256)) }
    }
    let defaultLabels: [UInt8] = (0..<count).map { UInt8($0 % 10) }
    try writeGzip(idxBytes(dimensions: [count, 3, 2], data: pixels),
                  to: directory.appendingPathComponent("\(prefix)-images-idx3-ubyte.gz"))
    try writeGzip(idxBytes(dimensions: [labels?.count ?? count], data: labels ?? defaultLabels),
                  to: directory.appendingPathComponent("\(prefix)-labels-idx1-ubyte.gz"))
}

/// A dataset whose example i is a 1×2×2 image filled with i, labelled i mod 7; loading
/// index `failing` throws.
final class CountingDataset: Dataset {
    let count: Int
    let failing: Int?
    let imageShape = [1, 2, 2]
    let classNames = (0..<7).map { "class \($0)" }

    init(count: Int, failing: Int? = nil) {
        self.count = count
        self.failing = failing
    }

    func load(_ indices: [Int], into images: UnsafeMutablePointer<Float>) throws -> [Int] {
        for (k, i) in indices.enumerated() {
            if i == failing { throw DatasetError(path: "counting", "example \(i) is broken") }
            (images + 4 * k).update(repeating: Float(i), count: 4)
        }
        return indices.map { $0 % 7 }
    }
}

/// A PNG byte stream assembled chunk by chunk, so tests can make any colour type and bit
/// depth (palette + tRNS, 16-bit, gray + alpha) without an encoder that writes them.
func pngBytes(width: Int, height: Int, bitDepth: UInt8, colorType: UInt8, rows: [[UInt8]],
              palette: [UInt8]? = nil, transparency: [UInt8]? = nil) -> [UInt8] {
    func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let body = Array(type.utf8) + data
        let crc = body.withUnsafeBufferPointer { UInt32(crc32(0, $0.baseAddress, UInt32($0.count))) }
        return be(UInt32(data.count)) + body + be(crc)
    }
    var raw: [UInt8] = []
    for row in rows { raw += [0] + row }   // filter type 0 (none) on every row
    var compressedSize = compressBound(UInt(raw.count))
    var compressed = [UInt8](repeating: 0, count: Int(compressedSize))
    _ = compress(&compressed, &compressedSize, raw, UInt(raw.count))
    var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
    png += chunk("IHDR", be(UInt32(width)) + be(UInt32(height)) + [bitDepth, colorType, 0, 0, 0])
    if let palette { png += chunk("PLTE", palette) }
    if let transparency { png += chunk("tRNS", transparency) }
    png += chunk("IDAT", Array(compressed.prefix(Int(compressedSize))))
    png += chunk("IEND", [])
    return png
}
