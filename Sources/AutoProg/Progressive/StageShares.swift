/// How a run's steps divide among its stages: stage k gets the share weights[k] / Σ weights
/// of the steps, its boundaries rounded to whole steps, the last stage running to the end.
/// Prog weights stages by their FLOPs fraction; fine-tuning gives every stage an equal share.
/// `stage(at:)` and `range(_:)` share one boundary rule, so they always agree.
public struct StageShares: Equatable, Sendable {
    public let weights: [Double]

    public init(weights: [Double]) {
        precondition(!weights.isEmpty && weights.allSatisfy { $0 > 0 }, "stage weights must be positive")
        self.weights = weights
    }

    /// K equal shares.
    public init(equal count: Int) { self.init(weights: Array(repeating: 1, count: count)) }

    /// The first step of stage `k` in a run of `totalSteps` (`k` = count: the run's end).
    public func boundary(_ k: Int, totalSteps: Int) -> Int {
        if k <= 0 { return 0 }
        if k >= weights.count { return totalSteps }
        let before = weights[..<k].reduce(0, +), all = weights.reduce(0, +)
        return Int((before / all * Double(totalSteps)).rounded())
    }

    /// The stage step `step` falls in.
    public func stage(at step: Int, totalSteps: Int) -> Int {
        (0..<weights.count).first { step < boundary($0 + 1, totalSteps: totalSteps) } ?? weights.count - 1
    }

    /// The steps of stage `k` (empty if rounding leaves it none).
    public func range(_ k: Int, totalSteps: Int) -> Range<Int> {
        let start = boundary(k, totalSteps: totalSteps)
        return start..<max(start, boundary(k + 1, totalSteps: totalSteps))
    }
}
