import Foundation

/// A problem with one of the files a training run writes or reads back (a run directory,
/// a log, an event file, a checkpoint pointer); `path` names the file.
public struct RunFileError: Error, CustomStringConvertible {
    public let path: String
    public let message: String

    public init(path: String, _ message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { "\(path): \(message)" }

    /// An error for `path` describing the current `errno`.
    static func posix(_ path: String, while step: String, errno code: Int32 = errno) -> RunFileError {
        RunFileError(path: path, "\(step) failed: \(String(cString: strerror(code)))")
    }
}

/// A file opened for appending whose every `append` is one `write(2)`, so a line is in
/// the kernel (and survives the process dying) as soon as the call returns.
final class AppendingFile {
    let path: String
    private let fd: Int32

    init(path: String) throws {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o666)
        guard fd >= 0 else { throw RunFileError.posix(path, while: "opening for appending") }
    }

    deinit { close(fd) }

    func append(_ data: Data) throws {
        try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            var done = 0
            while done < raw.count {
                let n = write(fd, raw.baseAddress! + done, raw.count - done)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else {
                    let code = errno
                    if code == ENOSPC || code == EDQUOT {
                        throw RunFileError(path: path, "no space left on the device (disk or quota full) while appending")
                    }
                    throw RunFileError.posix(path, while: "appending", errno: code)
                }
                done += n
            }
        }
    }

    /// Forces appended data to disk.
    func sync() throws {
        guard fsync(fd) == 0 || errno == EINVAL else { throw RunFileError.posix(path, while: "syncing") }
    }
}
