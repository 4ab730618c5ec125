import Foundation
import Testing
@testable import AutoProg

@Suite struct SafeTensorsTests {
    /// A state dict exercising awkward values and shapes, in a deliberately unsorted order.
    static func sample() throws -> StateDict {
        var d = StateDict()
        d["z.weight"] = try Tensor([1, -2.5, .infinity, -.infinity, -0.0, Float(bitPattern: 71362), .greatestFiniteMagnitude, Float(bitPattern: 0x7fc0_1234)], shape: [2, 4])
        d["a.bias"] = Tensor([0.1, 0.2, 0.3])
        d["scalar"] = Tensor(scalar: -7.25)
        d["empty"] = Tensor.zeros([0, 5])
        d["m.gamma"] = try Tensor([Float](repeating: 3, count: 12), shape: [2, 3, 2])
        return d
    }

    @Test func roundTripIsBitExactAndKeepsOrderShapesAndMetadata() throws {
        let dir = try ScratchDirectory()
        defer { dir.remove() }
        let url = dir.file("model.safetensors")
        let original = try Self.sample()
        let metadata = ["step": "1200", "note": "quote \" backslash \\ newline \n ünïcode", "": "empty key"]
        try SafeTensors.write(original, metadata: metadata, to: url)

        let (loaded, loadedMetadata) = try SafeTensors.read(url)
        #expect(Array(loaded.keys) == Array(original.keys))
        for (name, t) in original {
            let u = try #require(loaded[name])
            #expect(u.shape == t.shape, "\(name)")
            #expect(bitPatterns(u) == bitPatterns(t), "\(name)")
        }
        #expect(loaded["scalar"]!.shape == [])
        #expect(loaded["empty"]!.count == 0)
        #expect(loadedMetadata == metadata)
        #expect(try dir.listing() == ["model.safetensors"])
    }

    @Test func writerPadsHeaderToEightBytesAndStreamsDataInOrder() throws {
        let dir = try ScratchDirectory()
        defer { dir.remove() }
        let url = dir.file("m.safetensors")
        var d = StateDict()
        d["b"] = Tensor([1, 2, 3])
        d["a"] = Tensor([4])
        try SafeTensors.write(d, to: url)
        let bytes = try Data(contentsOf: url)
        let n = Int(bytes.prefix(8).withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) })
        #expect(n % 8 == 0)
        let header = String(decoding: bytes[8..<8 + n], as: UTF8.self)
        #expect(header == #"{"b":{"dtype":"F32","shape":[3],"data_offsets":[0,12]},"a":{"dtype":"F32","shape":[1],"data_offsets":[12,16]}}"#
            .padding(toLength: n, withPad: " ", startingAt: 0))
        #expect(bytes.count == 8 + n + 16)
        let floats = bytes[(8 + n)...].withUnsafeBytes { raw in (0..<4).map { raw.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) } }
        #expect(floats == [1, 2, 3, 4])
    }

    @Test func writesNonContiguousViewsAsDenseRowMajorData() throws {
        let dir = try ScratchDirectory()
        defer { dir.remove() }
        let url = dir.file("t.safetensors")
        let base = try Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3])
        let transposed = Tensor(storage: base.storage, shape: [3, 2], strides: [1, 3])
        try SafeTensors.write(["t": transposed], to: url)
        let t = try #require(try SafeTensors.read(url).tensors["t"])
        #expect(t.shape == [3, 2])
        #expect(t.toArray() == [1, 4, 2, 5, 3, 6])
    }

    @Test func float32TensorsAreZeroCopyViewsOfOneMappingReleasedWithTheLastTensor() throws {
        let dir = try ScratchDirectory()
        defer { dir.remove() }
        let url = dir.file("z.safetensors")
        var d = StateDict()
        d["first"] = try Tensor((0..<6).map(Float.init), shape: [2, 3])
        d["second"] = Tensor([7, 8, 9])
        try SafeTensors.write(d, to: url)
        let dataOffset = try SafeTensors.readHeader(url).dataOffset
        let before = MappedFile.liveCount.load(ordering: .relaxed)

        var second: Tensor?
        do {
            let (t, _) = try SafeTensors.read(url)
            let first = try #require(t["first"])
            second = t["second"]
            #expect(MappedFile.liveCount.load(ordering: .relaxed) == before + 1)
            // Both tensors point into the same mapping, exactly as far apart as in the file
            // (separately allocated copies would be in distinct 64-byte aligned buffers),
            // and the first data byte sits dataOffset bytes after a page boundary.
            #expect(second!.storage.pointer == first.storage.pointer + 6)
            #expect((Int(bitPattern: first.storage.pointer) - dataOffset) % Int(sysconf(Int32(_SC_PAGESIZE))) == 0)
            #expect(first.storage.count == 6)
            // The mapping is private: writing a loaded tensor never changes the file.
            first.pointer[0] = 42
            #expect(try SafeTensors.read(url).tensors["first"]![0, 0] == 0)
            #expect(first[0, 0] == 42)
        }
        // One tensor still holds the mapping; dropping it unmaps the file.
        #expect(MappedFile.liveCount.load(ordering: .relaxed) == before + 1)
        #expect(second?.toArray() == [7, 8, 9])
        second = nil
        #expect(MappedFile.liveCount.load(ordering: .relaxed) == before)
    }

    @Test func misalignedFloat32DataIsCopied() throws {
        let dir = try ScratchDirectory()
        defer { dir.remove() }
        let url = dir.file("odd.safetensors")
        // A 58-byte header puts the data at file offset 66, which is not 4-aligned.
        let header = #"{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#
        let padded = header + String(repeating: " ", count: 58 - header.utf8.count)
        var data: [UInt8] = []
        for v in [Float(1.5), -3] { withUnsafeBytes(of: v.bitPattern.littleEndian) { data += $0 } }
        try safetensorsBytes(header: padded, data: data).write(to: url)
        let before = MappedFile.liveCount.load(ordering: .relaxed)
        let x = try #require(try SafeTensors.read(url).tensors["x"])
        #expect(x.toArray() == [1.5, -3])
        #expect(Int(bitPattern: x.storage.pointer) % 64 == 0)  // a pool buffer, not the mapping
        #expect(MappedFile.liveCount.load(ordering: .relaxed) == before)  // nothing kept mapped
    }

    @Test func readHeaderDescribesTensorsWithoutData() throws {
        let dir = try ScratchDirectory()
        defer { dir.remove() }
        let url = dir.file("h.safetensors")
        try SafeTensors.write(try Self.sample(), metadata: ["epoch": "3"], to: url)
        let header = try SafeTensors.readHeader(url)
        #expect(header.entries.map(\.name) == ["z.weight", "a.bias", "scalar", "empty", "m.gamma"])
        #expect(header.entries.map(\.shape) == [[2, 4], [3], [], [0, 5], [2, 3, 2]])
        #expect(header.entries.allSatisfy { $0.dtype == .float32 })
        #expect(header.entries.map(\.byteRange) == [0..<32, 32..<44, 44..<48, 48..<48, 48..<96])
        #expect(header.metadata == ["epoch": "3"])
        #expect(header.dataOffset % 8 == 0)
    }

    /// A file from the reference Python library (F32, F16, BF16, F64, I64, U8, BOOL, 0-d and
    /// empty tensors, metadata) against the values numpy computed.
    @Test func readsReferenceLibraryFile() throws {
        struct Expected: Decodable {
            struct Entry: Decodable { let shape: [Int]; let bits: [UInt32] }
            let metadata: [String: String]
            let tensors: [String: Entry]
        }
        let expected = try JSONDecoder().decode(Expected.self, from: Data(contentsOf: Fixtures.url("reference.json")))
        let (tensors, metadata) = try SafeTensors.read(Fixtures.url("reference.safetensors"))
        #expect(metadata == expected.metadata)
        #expect(Set(tensors.keys) == Set(expected.tensors.keys))
        for (name, e) in expected.tensors {
            let t = try #require(tensors[name], "\(name)")
            #expect(t.shape == e.shape, "\(name)")
            #expect(bitPatterns(t) == e.bits, "\(name)")
        }
        let dtypes = Dictionary(uniqueKeysWithValues: try SafeTensors.readHeader(Fixtures.url("reference.safetensors")).entries.map { ($0.name, $0.dtype) })
        #expect(dtypes["brain"] == .bfloat16 && dtypes["half"] == .float16 && dtypes["mask"] == .bool && dtypes["int64"] == .int64)
    }

    /// Our writer's bytes for a fixed state dict are pinned by a committed file, which
    /// `make_fixtures.py verify` checked with the reference Python library. Set
    /// AUTOPROG_REGENERATE_FIXTURES=1 to rewrite it after an intended format change.
    @Test func writerOutputMatchesFileVerifiedByReferenceLibrary() throws {
        var d = StateDict()
        d["a.weight"] = try Tensor((0..<6).map { Float($0) / 4 - 0.5 }, shape: [2, 3])
        d["a.bias"] = Tensor([Float(bitPattern: 71362), -0.0, 3.5])  // 1e-40, a subnormal
        d["scalar"] = Tensor(scalar: -7.25)
        d["empty"] = Tensor.zeros([2, 0])
        let golden = Fixtures.url("swift_written.safetensors")
        if ProcessInfo.processInfo.environment["AUTOPROG_REGENERATE_FIXTURES"] == "1" {
            try SafeTensors.write(d, metadata: ["producer": "autoprog", "step": "12"], to: golden)
        }
        let dir = try ScratchDirectory()
        defer { dir.remove() }
        let url = dir.file("w.safetensors")
        try SafeTensors.write(d, metadata: ["producer": "autoprog", "step": "12"], to: url)
        #expect(try Data(contentsOf: url) == Data(contentsOf: golden))
    }

    @Test func reservedTensorNameIsRejectedAndLeavesTargetAlone() throws {
        let dir = try ScratchDirectory()
        defer { dir.remove() }
        let url = dir.file("r.safetensors")
        try SafeTensors.write(["w": Tensor([1])], to: url)
        expectCheckpointError(url, containing: "__metadata__") {
            try SafeTensors.write(["__metadata__": Tensor([1])], to: url)
        }
        #expect(try SafeTensors.read(url).tensors["w"]?.toArray() == [1])
        #expect(try dir.listing() == ["r.safetensors"])
    }
}
