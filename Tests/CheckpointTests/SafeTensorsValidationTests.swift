import Foundation
import Testing
@testable import AutoProg

/// Every malformed file is a `CheckpointError` naming the file and the problem, from both
/// `read` and `readHeader`, never a crash.
@Suite struct SafeTensorsValidationTests {
    static func f32(_ name: String, _ shape: [Int], _ begin: Int, _ end: Int) -> String {
        #""\#(name)":{"dtype":"F32","shape":\#(shape),"data_offsets":[\#(begin),\#(end)]}"#
    }

    /// Writes `bytes` and expects both readers to reject them with `fragment` in the message.
    func expectRejected(_ bytes: Data, _ fragment: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let dir = try ScratchDirectory()
        defer { dir.remove() }
        let url = dir.file("bad.safetensors")
        try bytes.write(to: url)
        expectCheckpointError(url, containing: fragment, sourceLocation: sourceLocation) { _ = try SafeTensors.read(url) }
        expectCheckpointError(url, containing: fragment, sourceLocation: sourceLocation) { _ = try SafeTensors.readHeader(url) }
    }

    func expectRejected(header: String, data: [UInt8] = [], _ fragment: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        try expectRejected(safetensorsBytes(header: header, data: data), fragment, sourceLocation: sourceLocation)
    }

    @Test func sizeAndLengthField() throws {
        try expectRejected(Data(), "too short")
        try expectRejected(Data([1, 0, 0, 0, 0]), "too short")
        try expectRejected(safetensorsBytes(header: "{}", length: 1 << 40), "exceeds the 100000000-byte limit")
        try expectRejected(safetensorsBytes(header: "{}", length: UInt64.max), "exceeds")
        try expectRejected(safetensorsBytes(header: "{}", length: 1000), "runs past the end of the 10-byte file")
    }

    @Test func headerEncodingAndJSON() throws {
        var invalidUTF8 = safetensorsBytes(header: "{\"x\":1}")
        invalidUTF8[10] = 0xff
        try expectRejected(invalidUTF8, "not valid UTF-8")
        try expectRejected(header: "", "does not start with '{'")
        try expectRejected(header: "[1, 2]", "does not start with '{'")
        try expectRejected(header: " {}", "does not start with '{'")
        try expectRejected(header: "{\"a\": ", "not valid JSON")
        try expectRejected(header: "{} x", "not valid JSON")
        try expectRejected(header: "{\"a\": [1,]}", "not valid JSON")
        try expectRejected(header: "{\"a\\q\": 1}", "invalid escape")
        try expectRejected(header: "{\"\\ud800\": 1}", "unpaired surrogate")
        try expectRejected(header: "{\"a\":" + String(repeating: "[", count: 5000), "nested more than")
    }

    @Test func tensorEntryFields() throws {
        try expectRejected(header: #"{"w":{"shape":[1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0], #"tensor "w" has no "dtype" field"#)
        try expectRejected(header: #"{"w":{"dtype":"F32","data_offsets":[0,4]}}"#, data: [0, 0, 0, 0], #"no "shape" field"#)
        try expectRejected(header: #"{"w":{"dtype":"F32","shape":[1]}}"#, data: [0, 0, 0, 0], #"no "data_offsets" field"#)
        try expectRejected(header: #"{"w":{"dtype":4,"shape":[1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0], #""dtype" is the integer 4, not a string"#)
        try expectRejected(header: #"{"w":{"dtype":"F17","shape":[1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0], #"unknown or unsupported dtype "F17""#)
        try expectRejected(header: #"{"w":{"dtype":"F4","shape":[2],"data_offsets":[0,1]}}"#, data: [0], #"unsupported dtype "F4""#)
        try expectRejected(header: #"{"w":{"dtype":"F32","shape":"1","data_offsets":[0,4]}}"#, data: [0, 0, 0, 0], #""shape" is the string "1", not an array"#)
        try expectRejected(header: #"{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0], "contains the integer -1")
        try expectRejected(header: #"{"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0], "contains the number 1.5")
        try expectRejected(header: #"{"w":{"dtype":"F32","shape":[99999999999999999999],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0], "not a non-negative 64-bit integer")
        try expectRejected(header: #"{"w":{"dtype":"F32","shape":[4294967296,4294967296,4],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0], "overflows")
        try expectRejected(header: #"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0]}}"#, data: [0, 0, 0, 0], "has 1 entries")
        try expectRejected(header: #"{"w":{"dtype":"F32","shape":[1],"data_offsets":null}}"#, data: [0, 0, 0, 0], #""data_offsets" is null"#)
        try expectRejected(header: #"{"w":[1]}"#, #"tensor "w" is described by an array"#)
        try expectRejected(header: #"{"w":1}"#, #"tensor "w" is described by the integer 1, not an object"#)
    }

    @Test func offsetsAgainstBuffer() throws {
        let eight = [UInt8](repeating: 0, count: 8), twelve = [UInt8](repeating: 0, count: 12)
        try expectRejected(header: "{" + Self.f32("w", [4], 0, 16) + "}", data: eight, "run past the 8-byte data buffer")
        try expectRejected(header: "{" + Self.f32("w", [1], 8, 4) + "}", data: eight, "end before they begin")
        try expectRejected(header: "{" + Self.f32("w", [3], 0, 8) + "}", data: eight, "hold 8 bytes but shape [3] of F32 needs 12")
        try expectRejected(header: "{" + Self.f32("a", [2], 0, 8) + "," + Self.f32("b", [2], 4, 12) + "}", data: twelve, #"tensors "a" (bytes 0..<8) and "b" (bytes 4..<12) overlap"#)
        try expectRejected(header: "{" + Self.f32("a", [1], 0, 4) + "," + Self.f32("b", [1], 8, 12) + "}", data: twelve, #"gap of 4 unused bytes before tensor "b""#)
        try expectRejected(header: "{" + Self.f32("a", [1], 4, 8) + "}", data: eight, #"gap of 4 unused bytes before tensor "a""#)
        try expectRejected(header: "{" + Self.f32("a", [1], 0, 4) + "}", data: eight, "4 bytes after the last tensor's data")
        try expectRejected(header: "{}", data: [1], "1 bytes after the last tensor's data")
    }

    @Test func duplicatesAndMetadata() throws {
        let four = [UInt8](repeating: 0, count: 4)
        try expectRejected(header: "{" + Self.f32("a", [1], 0, 4) + "," + Self.f32("a", [0], 4, 4) + "}", data: four, #"duplicate key "a""#)
        try expectRejected(header: #"{"__metadata__":{"k":1}}"#, #"value for "k" is the integer 1, not a string"#)
        try expectRejected(header: #"{"__metadata__":["k"]}"#, "__metadata__ is an array")
        try expectRejected(header: #"{"__metadata__":{"k":"v","k":"w"}}"#, #"duplicate key "k""#)
    }

    @Test func notAFile() throws {
        let dir = try ScratchDirectory()
        defer { dir.remove() }
        expectCheckpointError(dir.url, containing: "not a regular file") { _ = try SafeTensors.read(dir.url) }
        let missing = dir.file("missing.safetensors")
        expectCheckpointError(missing, containing: "cannot open") { _ = try SafeTensors.read(missing) }
        expectCheckpointError(missing, containing: "cannot open") { _ = try SafeTensors.readHeader(missing) }
    }

    /// A valid file cut short at every interesting point is rejected, never misread.
    @Test func truncatedFiles() throws {
        let dir = try ScratchDirectory()
        defer { dir.remove() }
        let url = dir.file("full.safetensors")
        var d = StateDict()
        d["w"] = try Tensor((0..<8).map(Float.init), shape: [2, 4])
        d["b"] = Tensor([1, 2])
        try SafeTensors.write(d, metadata: ["k": "v"], to: url)
        let full = try Data(contentsOf: url)
        let dataOffset = try SafeTensors.readHeader(url).dataOffset
        let cuts: [(Int, String)] = [
            (0, "too short"), (3, "too short"), (7, "too short"),
            (8, "runs past the end"), (20, "runs past the end"), (dataOffset - 1, "runs past the end"),
            (dataOffset, "run past the 0-byte data buffer"), (dataOffset + 5, "run past"),
            (full.count - 1, "run past"),
        ]
        for (cut, fragment) in cuts {
            try expectRejected(full.prefix(cut), fragment)
        }
        // Junk appended to a valid file is rejected too.
        try expectRejected(full + Data([0]), "1 bytes after the last tensor's data")
    }
}
