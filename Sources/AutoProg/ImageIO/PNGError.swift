/// A PNG could not be decoded or encoded: which file (when there is one) and why.
///
/// Images come from packages, downloads and users, so a corrupt or truncated file is
/// reported, never a crash.
public struct PNGError: Error, CustomStringConvertible, Equatable {
    /// The file involved, or nil when encoding to memory.
    public let path: String?
    public let message: String

    public init(path: String?, _ message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { path.map { "PNG \($0): \(message)" } ?? "PNG: \(message)" }
}
