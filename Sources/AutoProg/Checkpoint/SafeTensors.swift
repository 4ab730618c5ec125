import Foundation

/// Reading and writing the safetensors checkpoint format (huggingface/safetensors; the
/// format of `safetensors.torch.save_file` / `load_file`).
///
/// Layout: an 8-byte little-endian header length N, N bytes of UTF-8 JSON
/// `{"__metadata__": {...}, "name": {"dtype", "shape", "data_offsets": [begin, end]}, ...}`,
/// then the data buffer, offsets relative to its start. autoprog only runs on
/// little-endian hosts (x86-64 with AVX2, arm64), so float32 data is stored as in memory.
public enum SafeTensors {
    // MARK: Reading

    /// Loads every tensor and the metadata of a safetensors file, as `load_file` does.
    ///
    /// The file is memory-mapped once. Float32 tensors whose data is 4-byte aligned in the
    /// file (always true for files written by autoprog or by the reference writer) are
    /// zero-copy views into that mapping; the mapping is released when the last of them is.
    /// Misaligned float32 data is copied; F16, BF16, F64, FP8, integer and BOOL tensors are
    /// converted to float32 (booleans to 0/1; 64-bit integers round to nearest float).
    /// Tensors come back in header order, which for autoprog's files is the saved order.
    /// Every malformed file throws `CheckpointError` naming the file and the problem.
    public static func read(_ url: URL) throws -> (tensors: StateDict, metadata: [String: String]) {
        let path = url.path
        let file = try MappedFile(path: path, minimumLength: 8) { SafeTensorsHeader.tooShort(fileSize: $0, path: path) }
        let bytes = UnsafeRawBufferPointer(start: file.base, count: file.length)
        let prefix = UInt64(littleEndian: bytes.loadUnaligned(as: UInt64.self))
        let n = try SafeTensorsHeader.headerLength(prefix: prefix, fileSize: file.length, path: path)
        let header = try SafeTensorsHeader(
            json: UnsafeRawBufferPointer(rebasing: bytes[8..<8 + n]),
            bufferLength: file.length - 8 - n, path: path)

        var tensors = StateDict(minimumCapacity: header.entries.count)
        for entry in header.entries {
            let source = UnsafeRawPointer(file.base + header.dataOffset + entry.byteRange.lowerBound)
            tensors[entry.name] = tensor(entry, at: source, in: file)
        }
        return (tensors, header.metadata)
    }

    /// Reads only the header: names, dtypes, shapes, byte ranges and metadata, validated
    /// against the file size, without touching the data (for inspecting checkpoints).
    public static func readHeader(_ url: URL) throws -> SafeTensorsHeader {
        let path = url.path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw CheckpointError(path: path, "cannot open: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let size = try MappedFile.regularFileSize(fd: fd, path: path)
        guard size >= 8 else { throw SafeTensorsHeader.tooShort(fileSize: size, path: path) }
        var prefix: UInt64 = 0
        try withUnsafeMutableBytes(of: &prefix) { try readFully(fd: fd, into: $0, at: 0, path: path) }
        let n = try SafeTensorsHeader.headerLength(prefix: UInt64(littleEndian: prefix), fileSize: size, path: path)
        let json = UnsafeMutableRawBufferPointer.allocate(byteCount: n, alignment: 1)
        defer { json.deallocate() }
        try readFully(fd: fd, into: json, at: 8, path: path)
        return try SafeTensorsHeader(json: UnsafeRawBufferPointer(json), bufferLength: size - 8 - n, path: path)
    }

    private static func readFully(fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: Int, path: String) throws {
        var done = 0
        while done < buffer.count {
            let r = pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
            if r < 0 && errno == EINTR { continue }
            guard r > 0 else {
                throw CheckpointError(path: path, r == 0 ? "file ended while reading the header" : "read failed: \(String(cString: strerror(errno)))")
            }
            done += r
        }
    }

    /// One tensor from its validated header entry and the address of its bytes.
    private static func tensor(_ entry: SafeTensorsHeader.Entry, at source: UnsafeRawPointer, in file: MappedFile) -> Tensor {
        let count = entry.count
        if entry.dtype == .float32 && count > 0 && Int(bitPattern: source) % MemoryLayout<Float>.alignment == 0 {
            let pointer = UnsafeMutableRawPointer(mutating: source).bindMemory(to: Float.self, capacity: count)
            let storage = Storage(wrapping: pointer, count: count) { withExtendedLifetime(file) {} }
            return Tensor(storage: storage, shape: entry.shape)
        }
        let out = Tensor(uninitializedShape: entry.shape)
        if count > 0 { convert(entry.dtype, from: source, count: count, into: out.pointer) }
        return out
    }

    /// Widens `count` little-endian elements of `dtype` at a possibly unaligned address.
    static func convert(_ dtype: DType, from source: UnsafeRawPointer, count: Int, into destination: UnsafeMutablePointer<Float>) {
        @inline(__always)
        func each<T: FixedWidthInteger>(_: T.Type, _ transform: (T) -> Float) {
            for i in 0..<count {
                destination[i] = transform(T(littleEndian: source.loadUnaligned(fromByteOffset: i * MemoryLayout<T>.size, as: T.self)))
            }
        }
        switch dtype {
        case .float32: UnsafeMutableRawPointer(destination).copyMemory(from: source, byteCount: count * 4)
        case .float16: each(UInt16.self) { Float(float16Bits: $0) }
        case .bfloat16: each(UInt16.self) { Float(bfloat16Bits: $0) }
        case .float8E4M3: each(UInt8.self) { Float(float8E4M3Bits: $0) }
        case .float8E5M2: each(UInt8.self) { Float(float8E5M2Bits: $0) }
        case .float64: each(UInt64.self) { Float(Double(bitPattern: $0)) }
        case .bool: each(UInt8.self) { $0 == 0 ? 0 : 1 }
        case .uint8: each(UInt8.self) { Float($0) }
        case .int8: each(Int8.self) { Float($0) }
        case .int16: each(Int16.self) { Float($0) }
        case .uint16: each(UInt16.self) { Float($0) }
        case .int32: each(Int32.self) { Float($0) }
        case .uint32: each(UInt32.self) { Float($0) }
        case .int64: each(Int64.self) { Float($0) }
        case .uint64: each(UInt64.self) { Float($0) }
        }
    }

    // MARK: Writing

    /// Saves `tensors` as float32 with string `metadata`, atomically (`save_file`).
    ///
    /// Tensors are written in the state dict's order rather than sorted like the reference
    /// writer (which sorts by dtype alignment, then name): every tensor here is F32, so
    /// alignment is uniform, and keeping model order means `read` returns them in the order
    /// they were saved. The header is padded with spaces to a multiple of 8 bytes so the
    /// data starts 8-aligned and loads zero-copy. Tensor data streams to the file one tensor
    /// at a time; the file replaces `url` only once fully written and synced.
    public static func write(_ tensors: StateDict, metadata: [String: String] = [:], to url: URL) throws {
        let header = try headerBytes(tensors, metadata: metadata, path: url.path)
        try AtomicFile.write(to: url) { handle in
            try handle.write(contentsOf: header)
            for tensor in tensors.values where tensor.count > 0 {
                let dense = tensor.contiguous()
                try handle.write(contentsOf: Data(bytesNoCopy: dense.pointer, count: dense.count * 4, deallocator: .none))
                withExtendedLifetime(dense) {}
            }
        }
    }

    /// The length prefix and padded JSON header for `tensors` stored contiguously in order.
    static func headerBytes(_ tensors: StateDict, metadata: [String: String], path: String) throws -> Data {
        var json = "{"
        var first = true
        func member(_ key: String, _ value: String) {
            json += (first ? "" : ",") + jsonString(key) + ":" + value
            first = false
        }
        if !metadata.isEmpty {
            // Sorted so that the same checkpoint always produces the same bytes.
            let pairs = metadata.sorted { $0.key < $1.key }.map { jsonString($0.key) + ":" + jsonString($0.value) }
            member("__metadata__", "{" + pairs.joined(separator: ",") + "}")
        }
        var offset = 0
        for (name, tensor) in tensors {
            guard name != "__metadata__" else {
                throw CheckpointError(path: path, "a tensor cannot be named \"__metadata__\" (reserved for metadata)")
            }
            let end = offset + tensor.count * 4
            let shape = tensor.shape.map(String.init).joined(separator: ",")
            member(name, "{\"dtype\":\"F32\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(end)]}")
            offset = end
        }
        json += "}"
        var body = Data(json.utf8)
        body.append(contentsOf: repeatElement(UInt8(ascii: " "), count: (8 - body.count % 8) % 8))
        var out = Data(capacity: 8 + body.count)
        withUnsafeBytes(of: UInt64(body.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(body)
        return out
    }

    /// `s` as a JSON string literal (the module's one JSON writer).
    static func jsonString(_ s: String) -> String { JSONValue.string(s).serialized }
}
