/// A checkpoint file could not be read or written: which file, and what is wrong with it.
///
/// Every malformed input (truncated file, bad header, inconsistent offsets) becomes one of
/// these rather than a crash, because checkpoints come from other programs and disks.
public struct CheckpointError: Error, CustomStringConvertible, Equatable {
    /// The file the problem is in.
    public let path: String
    public let message: String

    public init(path: String, _ message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { "checkpoint \(path): \(message)" }
}
