import Foundation
import Testing
@testable import AutoProg

@Suite struct CRC32CTests {
    @Test func knownVectors() {
        #expect(CRC32C.checksum(Data("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum(Data()) == 0)
        // RFC 3720 (iSCSI) B.4 test patterns.
        #expect(CRC32C.checksum(Data(repeating: 0, count: 32)) == 0x8A91_36AA)
        #expect(CRC32C.checksum(Data(repeating: 0xFF, count: 32)) == 0x62A8_AB43)
        #expect(CRC32C.checksum(Data((0..<32).map { UInt8($0) })) == 0x46DD_794E)
    }

    @Test func maskMatchesTensorFlow() {
        let crc: UInt32 = 0xE306_9283
        #expect(CRC32C.masked(crc) == ((crc >> 15) | (crc << 17)) &+ 0xA282_EAD8)
        #expect(CRC32C.masked(0) == 0xA282_EAD8)
    }
}

@Suite struct TensorBoardTests {
    @Test func writesRecordsThatParseBack() throws {
        let tmp = try TemporaryDirectory()
        let writer = try TensorBoardWriter(directory: tmp.url)
        let png = Data([0x89, 0x50, 0x4E, 0x47, 1, 2, 3])
        try writer.addScalar("train/loss", 0.75, step: 1)
        try writer.addScalar("train/loss", 0.5, step: 2)
        try writer.addScalar("lr", 1e-3, step: 300_000)
        try writer.addImage("samples", png: png, width: 4, height: 2, channels: 3, step: 2)
        try writer.addText("config", "lr = **0.001**", step: 0)
        try writer.flush()
        keepForInspection(writer.url)

        let name = writer.url.lastPathComponent
        #expect(name.hasPrefix("events.out.tfevents.") && writer.url.deletingLastPathComponent().standardizedFileURL.path == tmp.url.standardizedFileURL.path)
        let events = try TensorBoardReader.events(writer.url)
        #expect(events.count == 6)
        #expect(events[0].fileVersion == "brain.Event:2" && events[0].values.isEmpty)
        #expect(abs(events[0].wallTime - Date().timeIntervalSince1970) < 60)
        #expect(try TensorBoardReader.scalars(writer.url) == [
            TensorBoardScalar(step: 1, tag: "train/loss", value: 0.75),
            TensorBoardScalar(step: 2, tag: "train/loss", value: 0.5),
            TensorBoardScalar(step: 300_000, tag: "lr", value: 1e-3),
        ])
        #expect(events[4].step == 2)
        #expect(events[4].values == [.init(tag: "samples", simpleValue: nil,
                                            image: .init(width: 4, height: 2, colorspace: 3, encoded: png), text: nil)])
        #expect(events[5].values.first?.text == "lr = **0.001**")
        #expect(events[5].values.first?.tag == "config")
    }

    @Test func framingFollowsTheTFRecordLayout() throws {
        let tmp = try TemporaryDirectory()
        let writer = try TensorBoardWriter(directory: tmp.url)
        let bytes = [UInt8](try Data(contentsOf: writer.url))
        // First record: length, masked CRC of the length, Event, masked CRC of the Event.
        let length = Int(bytes[0..<8].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) })
        #expect(bytes.count == 16 + length)
        func le32(_ i: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(bytes[i + $1]) << (8 * UInt32($1)) } }
        #expect(le32(8) == CRC32C.masked(CRC32C.checksum(Data(bytes[0..<8]))))
        #expect(le32(12 + length) == CRC32C.masked(CRC32C.checksum(Data(bytes[12..<12 + length]))))
        // Event: wall_time (field 1, fixed64) then file_version (field 3, string).
        #expect(bytes[12] == 0x09)
        #expect(Array(bytes[21..<23]) == [0x1A, 13])
        #expect(String(decoding: bytes[23..<36], as: UTF8.self) == "brain.Event:2")
    }

    @Test func corruptedOrTruncatedFilesAreDetected() throws {
        let tmp = try TemporaryDirectory()
        let writer = try TensorBoardWriter(directory: tmp.url)
        try writer.addScalar("loss", 1.5, step: 7)
        let good = try Data(contentsOf: writer.url)
        #expect(try TensorBoardReader.records(writer.url).count == 2)

        for position in [3, 9, good.count - 10, good.count - 1] {
            var bad = good
            bad[position] ^= 0x20
            try bad.write(to: tmp.file("bad"))
            #expect(throws: RunFileError.self, "flipped byte \(position)") { try TensorBoardReader.records(tmp.file("bad")) }
        }
        try good.prefix(good.count - 3).write(to: tmp.file("short"))
        #expect(throws: RunFileError.self) { try TensorBoardReader.records(tmp.file("short")) }
    }

    @Test func rejectsBadImageChannels() throws {
        let tmp = try TemporaryDirectory()
        let writer = try TensorBoardWriter(directory: tmp.url)
        #expect(throws: RunFileError.self) { try writer.addImage("x", png: Data(), width: 2, height: 2, channels: 5, step: 0) }
        #expect(throws: RunFileError.self) { try writer.addImage("x", png: Data(), width: 0, height: 2, channels: 3, step: 0) }
    }

    @Test func protobufVarintsRoundTrip() throws {
        var w = ProtobufWriter()
        for (i, v) in [0, 1, 127, 128, 300, Int(Int32.max), Int(Int64.max), -1].enumerated() { w.int(i + 1, v) }
        var r = ProtobufReader(w.data)
        var decoded: [Int] = []
        while let (_, value) = try r.next() { decoded.append(value.int ?? .min) }
        #expect(decoded == [0, 1, 127, 128, 300, Int(Int32.max), Int(Int64.max), -1])
        #expect(Array(w.data.prefix(2)) == [0x08, 0x00])
    }
}
