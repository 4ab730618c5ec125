import CZlib
import Foundation

/// An IDX file (the MNIST format: big-endian magic 0x0000_08_NN with NN = number of
/// dimensions, then NN big-endian UInt32 sizes, then unsigned bytes), read through zlib's
/// gz* API so that gzip'd and plain files both work.
struct IDXFile {
    let dimensions: [Int]
    let bytes: [UInt8]

    /// Reads the file at `url`, which must hold unsigned-byte data with `rank` dimensions
    /// (3 for images, 1 for labels).
    init(contentsOf url: URL, rank: Int) throws {
        let path = url.path
        guard FileManager.default.fileExists(atPath: path) else {
            throw DatasetError(path: path, "file not found")
        }
        guard let file = gzopen(path, "rb") else {
            throw DatasetError(path: path, "cannot open: \(String(cString: strerror(errno)))")
        }
        defer { gzclose(file) }
        gzbuffer(file, 1 << 17)

        let header = try IDXFile.read(file, count: 4 + 4 * rank, path: path, what: "header")
        let magic = IDXFile.bigEndian(header, at: 0)
        let expected = UInt32(0x0800) | UInt32(rank)
        guard magic == expected else {
            throw DatasetError(path: path, String(format: "bad magic number 0x%08X (expected 0x%08X: unsigned bytes, %d dimensions)", magic, expected, rank))
        }
        dimensions = (0..<rank).map { Int(IDXFile.bigEndian(header, at: 4 + 4 * $0)) }
        let total = dimensions.reduce(1, *)
        guard total <= 1 << 32 else { throw DatasetError(path: path, "implausible dimensions \(dimensions)") }
        bytes = try IDXFile.read(file, count: total, path: path, what: "data for dimensions \(dimensions)")
    }

    private static func bigEndian(_ b: [UInt8], at i: Int) -> UInt32 {
        UInt32(b[i]) << 24 | UInt32(b[i + 1]) << 16 | UInt32(b[i + 2]) << 8 | UInt32(b[i + 3])
    }

    /// Reads exactly `count` bytes or throws naming the file (truncated or corrupt gzip).
    private static func read(_ file: gzFile, count: Int, path: String, what: String) throws -> [UInt8] {
        var done = 0
        var failure: String?
        let bytes = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            while done < count {
                let n = gzread(file, buffer.baseAddress! + done, UInt32(min(count - done, 1 << 30)))
                if n <= 0 {
                    var code: Int32 = 0
                    let message = gzerror(file, &code).map { String(cString: $0) } ?? ""
                    if n < 0 || (code != Z_OK && code != Z_STREAM_END) {
                        failure = "corrupt gzip data (\(message))"
                    }
                    break
                }
                done += Int(n)
            }
            initialized = done
        }
        if let failure { throw DatasetError(path: path, "\(failure) while reading the \(what)") }
        guard done == count else {
            throw DatasetError(path: path, "truncated: got \(done) of \(count) bytes of the \(what)")
        }
        return bytes
    }
}
