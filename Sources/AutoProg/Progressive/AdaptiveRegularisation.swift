/// Adaptive regularisation for progressive learning (AutoProg §3.1, after EfficientNetV2's
/// progressive learning): small early sub-networks over-fit less and learn faster with
/// weaker regularisation, so stage k of K trains at a fraction
/// start + (1 − start)·k/(K − 1) of the recipe's RandAugment magnitude, random-erasing
/// probability and drop-path rate, reaching full strength in the last stage.
public struct AdaptiveRegularisation: Equatable, Sendable {
    /// The first stage's fraction of full strength, in [0, 1].
    public var start: Float

    public init(start: Float = 0.5) throws {
        guard start >= 0, start <= 1 else {
            throw TensorError("adaptive regularisation", "the first stage's strength must be in [0, 1], not \(start)")
        }
        self.start = start
    }

    /// The strength fraction of stage `k` (0-based) of `count`.
    public func fraction(stage k: Int, of count: Int) -> Float {
        count <= 1 ? 1 : start + (1 - start) * Float(k) / Float(count - 1)
    }
}
