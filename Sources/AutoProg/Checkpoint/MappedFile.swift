import Foundation
import Synchronization

/// A whole file memory-mapped copy-on-write, unmapped when the last reference goes.
///
/// Tensors loaded from a checkpoint are views into one mapping: each view's `Storage`
/// holds a reference, so the file stays mapped exactly as long as any tensor needs it.
/// The mapping is private and writable, so updating a loaded tensor in place (an optimizer
/// step on loaded weights) copies the touched pages and never modifies the file.
/// As with any mmap, truncating the file while it is mapped makes later reads fault.
final class MappedFile: @unchecked Sendable {
    let base: UnsafeMutableRawPointer
    let length: Int

    /// Number of mappings alive, so tests can check that the last tensor unmaps the file.
    static let liveCount = Atomic<Int>(0)

    /// Maps `path`, which must be a regular file of at least `minimumLength` bytes.
    init(path: String, minimumLength: Int, tooShort: (Int) -> CheckpointError) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw CheckpointError(path: path, "cannot open: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let size = try MappedFile.regularFileSize(fd: fd, path: path)
        guard size >= minimumLength, size > 0 else { throw tooShort(size) }
        let p = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0)
        guard let p, p != UnsafeMutableRawPointer(bitPattern: -1) else {
            throw CheckpointError(path: path, "cannot memory-map \(size) bytes: \(String(cString: strerror(errno)))")
        }
        base = p
        length = size
        MappedFile.liveCount.add(1, ordering: .relaxed)
    }

    deinit {
        munmap(base, length)
        MappedFile.liveCount.subtract(1, ordering: .relaxed)
    }

    /// The size of the open file, or an error if it is a directory, pipe or device.
    static func regularFileSize(fd: Int32, path: String) throws -> Int {
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw CheckpointError(path: path, "cannot stat: \(String(cString: strerror(errno)))")
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw CheckpointError(path: path, "not a regular file")
        }
        return Int(info.st_size)
    }
}
