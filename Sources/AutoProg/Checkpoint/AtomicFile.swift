import Foundation

/// Crash-safe file replacement: readers see either the old file or the complete new one.
///
/// The content goes to a temporary file in the target's directory (same filesystem, so the
/// rename is atomic), which is fsynced, renamed over the target, and then the directory is
/// fsynced so the rename itself survives a power loss. On any failure the temporary file
/// is removed and the old target is left untouched. Used for checkpoints and every file
/// in a run directory.
public enum AtomicFile {
    /// Atomically replaces (or creates) the file at `url` with `data`.
    public static func write(_ data: Data, to url: URL) throws {
        try write(to: url) { try $0.write(contentsOf: data) }
    }

    /// Atomically replaces (or creates) the file at `url` with whatever `body` writes.
    ///
    /// `body` must write with the throwing `FileHandle.write(contentsOf:)` (the older
    /// `write(_:)` traps on I/O errors). Errors thrown by `body` propagate unchanged, except
    /// that operating-system I/O errors (a full disk, say) become `AtomicFileError`s naming
    /// the file. The new file gets mode 0666 minus the umask.
    public static func write(to url: URL, _ body: (FileHandle) throws -> Void) throws {
        let target = url.path
        let directory = url.deletingLastPathComponent().path
        let temporary = directory + "/." + url.lastPathComponent + ".tmp-\(getpid())-" + String(UInt64.random(in: 0...UInt64.max), radix: 16)

        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
        guard fd >= 0 else {
            throw AtomicFileError(path: target, errno: errno, while: "creating a temporary file in \(directory)")
        }
        var isOpen = true
        var succeeded = false
        defer {
            if isOpen { close(fd) }
            if !succeeded { unlink(temporary) }
        }

        let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: false)
        do {
            try body(handle)
        } catch {
            if let code = AtomicFileError.posixCode(of: error) {
                throw AtomicFileError(path: target, errno: code, while: "writing")
            }
            throw error
        }
        guard fsync(fd) == 0 else { throw AtomicFileError(path: target, errno: errno, while: "syncing to disk") }
        isOpen = false
        // close can report deferred write errors (NFS, some quota systems).
        guard close(fd) == 0 else { throw AtomicFileError(path: target, errno: errno, while: "closing") }
        guard rename(temporary, target) == 0 else {
            throw AtomicFileError(path: target, errno: errno, while: "renaming the temporary file over it")
        }
        succeeded = true
        try syncDirectory(directory, target: target)
    }

    /// Makes a rename in `directory` durable. Filesystems that cannot sync directories
    /// (EINVAL) are accepted; any other failure is reported, though the new file is in place.
    private static func syncDirectory(_ directory: String, target: String) throws {
        let dfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dfd >= 0 else { throw AtomicFileError(path: target, errno: errno, while: "opening its directory to sync the rename") }
        defer { close(dfd) }
        if fsync(dfd) != 0 && errno != EINVAL {
            throw AtomicFileError(path: target, errno: errno, while: "syncing its directory after the rename")
        }
    }
}

/// An operating-system failure while atomically writing a file; `path` is the target.
public struct AtomicFileError: Error, CustomStringConvertible {
    public let path: String
    /// The `errno` value (ENOSPC for a full disk).
    public let code: Int32
    /// What was being done ("writing", "renaming the temporary file over it", ...).
    public let step: String

    public init(path: String, errno code: Int32, while step: String) {
        self.path = path
        self.code = code
        self.step = step
    }

    /// True when the disk or the user's quota is full.
    public var isDiskFull: Bool { code == ENOSPC || code == EDQUOT }

    public var description: String {
        let reason = isDiskFull ? "no space left on the device (disk or quota full)" : String(cString: strerror(code))
        return "cannot write \(path): \(reason) while \(step); the previous file, if any, is unchanged"
    }

    /// The errno behind a Foundation I/O error, if it is one.
    static func posixCode(of error: any Error) -> Int32? {
        if let e = error as? POSIXError { return e.code.rawValue }
        if let e = error as? CocoaError, e.code == .fileWriteOutOfSpace { return ENOSPC }
        let ns = error as NSError
        if ns.domain == NSPOSIXErrorDomain { return Int32(ns.code) }
        if ns.domain == NSCocoaErrorDomain && ns.code == CocoaError.fileWriteOutOfSpace.rawValue { return ENOSPC }
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return Int32(underlying.code)
        }
        return nil
    }
}
