/// An error from a tensor operation on bad input: the op and what was wrong, with shapes.
///
/// Every check on user-controlled input throws this instead of trapping, so a recipe
/// with a shape mistake gets a message naming the op and both shapes.
public struct TensorError: Error, CustomStringConvertible, Equatable {
    public let op: String
    public let message: String

    public init(_ op: String, _ message: String) {
        self.op = op
        self.message = message
    }

    public var description: String { "\(op): \(message)" }

    static func shapes(_ op: String, _ a: [Int], _ b: [Int], _ why: String) -> TensorError {
        TensorError(op, "shapes \(a) and \(b) \(why)")
    }
}
