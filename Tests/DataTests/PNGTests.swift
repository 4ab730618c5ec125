import Foundation
import Testing
@testable import AutoProg

@Suite struct PNGTests {
    /// k / 255 for a deterministic spread of bytes.
    func levels(_ n: Int) -> [Float] { (0..<n).map { Float(($0 * 37 + 11) % 256) / 255 } }

    func decode(_ bytes: [UInt8], channels: Int? = nil, background: Float = 1) throws -> Tensor {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("image.png")
        try Data(bytes).write(to: url)
        return try PNG.read(url, channels: channels, background: background)
    }

    @Test(arguments: [1, 2, 3, 4])
    func roundTripIsBitExact(channels: Int) throws {
        let image = try Tensor(levels(channels * 5 * 3), shape: [channels, 5, 3])
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("x.png")
        try PNG.write(image, to: url)
        let back = try PNG.read(url)
        #expect(back.shape == [channels, 5, 3])
        #expect(back.toArray() == image.toArray())
    }

    @Test func encodeClampsRoundsAndAcceptsTwoDimensions() throws {
        let values: [Float] = [-1, 0.5, 2, .nan, 0.2, 1]
        let data = try PNG.encode(try Tensor(values, shape: [2, 3]))
        let back = try decode(Array(data))
        #expect(back.shape == [1, 2, 3])
        #expect(back.toArray() == [0, 128, 255, 0, 51, 255].map { Float($0) / 255 })
        #expect(throws: TensorError.self) { try PNG.encode(Tensor.zeros([5, 2, 2])) }
        #expect(throws: TensorError.self) { try PNG.encode(Tensor.zeros([3, 0, 2])) }
        #expect(throws: TensorError.self) { try PNG.encode(Tensor.zeros([1, 1, 2, 2])) }
    }

    /// A 2-bit palette image with tRNS: entries 0 (red, opaque), 1 (green, alpha 0x80),
    /// 2 (blue, transparent), 3 (white, no tRNS entry = opaque).
    @Test func paletteWithTransparencyExpandsToRGBA() throws {
        let palette: [UInt8] = [255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255]
        let row: [UInt8] = [0b00_01_10_11]   // four 2-bit indices 0, 1, 2, 3
        let bytes = pngBytes(width: 4, height: 1, bitDepth: 2, colorType: 3, rows: [row],
                             palette: palette, transparency: [255, 128, 0])
        let rgba = try decode(bytes)
        #expect(rgba.shape == [4, 1, 4])
        #expect(rgba.toArray() == [255, 0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 255, 255, 128, 0, 255].map { Float($0) / 255 })
        // Composited on black: colour × alpha.
        let rgb = try decode(bytes, channels: 3, background: 0)
        let a: Float = 128 / 255
        #expect(rgb.toArray() == [1, 0, 0, 1, 0, a, 0, 1, 0, 0, 0, 1])
        // A palette without tRNS is plain RGB.
        let opaque = try decode(pngBytes(width: 4, height: 1, bitDepth: 2, colorType: 3, rows: [row], palette: palette))
        #expect(opaque.shape == [3, 1, 4])
    }

    @Test func grayAlphaCompositesOntoTheBackground() throws {
        // Gray+alpha pixels (gray, alpha): (200, 255), (100, 0), (50, 102).
        let bytes = pngBytes(width: 3, height: 1, bitDepth: 8, colorType: 4, rows: [[200, 255, 100, 0, 50, 102]])
        let stored = try decode(bytes)
        #expect(stored.shape == [2, 1, 3])
        #expect(stored.toArray() == [200, 100, 50, 255, 0, 102].map { Float($0) / 255 })
        let (g, a): (Float, Float) = (50 / 255, 102 / 255)
        let gray = try decode(bytes, channels: 1, background: 1)
        #expect(gray.toArray() == [200 / 255, 1, g * a + 1 * (1 - a)])
        let rgb = try decode(bytes, channels: 3, background: 0.5)
        let plane: [Float] = [200 / 255, 0.5, g * a + 0.5 * (1 - a)]
        #expect(rgb.toArray() == plane + plane + plane)
        let rgba = try decode(bytes, channels: 4)
        let grayPlane = Array(stored.toArray()[0..<3]), alphaPlane = Array(stored.toArray()[3...])
        let expected: [Float] = grayPlane + grayPlane + grayPlane + alphaPlane
        #expect(rgba.toArray() == expected)
    }

    @Test func rgbToGrayUsesLuma() throws {
        let bytes = pngBytes(width: 2, height: 1, bitDepth: 8, colorType: 2, rows: [[255, 0, 0, 10, 200, 30]])
        let gray = try decode(bytes, channels: 1).toArray()
        let expected: [Float] = [0.299, (0.299 * 10 + 0.587 * 200 + 0.114 * 30) / 255]
        #expect(zip(gray, expected).allSatisfy { abs($0 - $1) < 1e-6 })
        #expect(throws: PNGError.self) { try decode(bytes, channels: 5) }
    }

    /// 16-bit samples decode to value / 65535 (RGBA: straight alpha, not premultiplied).
    @Test func sixteenBitSamples() throws {
        let gray = try decode(pngBytes(width: 3, height: 1, bitDepth: 16, colorType: 0, rows: [be16([0, 12345, 65535])]))
        #expect(gray.toArray() == [0, 12345 / 65535, 1])
        let rgba = try decode(pngBytes(width: 2, height: 1, bitDepth: 16, colorType: 6,
                                       rows: [be16([1000, 30000, 65535, 65535, 40000, 20000, 100, 32768])]))
        let expected: [Float] = [1000, 40000, 30000, 20000, 65535, 100, 65535, 32768].map { $0 / 65535 }
        // Premultiplied 16-bit values lose up to half a level per channel when divided out.
        #expect(zip(rgba.toArray(), expected).allSatisfy { abs($0 - $1) < 2.0 / 65535 / (32768 / 65535) })
    }

    func be16(_ values: [UInt16]) -> [UInt8] { values.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] } }

    /// Corrupt input is a PNGError naming the file, never a crash (libpng's simplified API
    /// catches its own longjmp inside libpng).
    @Test func corruptBytesAreErrors() throws {
        let good = Array(try PNG.encode(Tensor.full([3, 8, 8], 0.25)))
        var badCRC = pngBytes(width: 2, height: 1, bitDepth: 8, colorType: 0, rows: [[1, 2]])
        badCRC[29] ^= 0xFF   // inside IHDR's CRC
        var badData = good
        for i in (good.count - 30)..<(good.count - 12) { badData[i] = 0x5A }   // IDAT's deflate stream
        for bytes in [[], Array("not a png at all".utf8), Array(good.prefix(good.count / 2)), Array(good.prefix(40)), badCRC, badData] {
            let dir = try makeTemporaryDirectory()
            defer { try? FileManager.default.removeItem(at: dir) }
            let url = dir.appendingPathComponent("broken.png")
            try Data(bytes).write(to: url)
            do {
                _ = try PNG.read(url)
                Issue.record("\(bytes.count) corrupt bytes decoded")
            } catch let error as PNGError {
                #expect(error.path == url.path)
                #expect(!error.message.isEmpty)
            }
        }
        #expect(throws: PNGError.self) { try PNG.read(URL(fileURLWithPath: "/nonexistent/x.png")) }
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/usr/share/javascript/emojify.js/images/emoji/dog.png")))
    func realEmojiDecodes() throws {
        let url = URL(fileURLWithPath: "/usr/share/javascript/emojify.js/images/emoji/dog.png")
        let rgba = try PNG.read(url)
        #expect(rgba.shape == [4, 64, 64])
        let alpha = Array(rgba.toArray()[(3 * 4096)...])
        #expect(alpha.contains(0) && alpha.contains(1))   // a transparent border around an opaque dog
        let rgb = try PNG.read(url, channels: 3, background: 1)
        #expect(rgb[0, 0, 0] == 1 && rgb[1, 0, 0] == 1 && rgb[2, 0, 0] == 1)   // the corner composites to white
    }
}
