/// A transform whose regularisation strength can be scaled: adaptive regularisation in
/// progressive learning (AutoProg §3.1, after EfficientNetV2) trains small early stages
/// with weaker augmentation and raises it linearly to the recipe's full strength.
public protocol StrengthScalable: BatchTransform {
    /// This transform at `fraction` (in [0, 1]) of its strength.
    func scaled(by fraction: Float) -> any BatchTransform
}

extension RandAugmentLite: StrengthScalable {
    /// The magnitude (and its spread) scale; the choice of operations does not.
    public func scaled(by fraction: Float) -> any BatchTransform {
        RandAugmentLite(operations: operations, magnitude: magnitude * fraction, magnitudeStd: magnitudeStd * fraction,
                        probability: probability, choices: choices)
    }
}

extension RandomErasing: StrengthScalable {
    public func scaled(by fraction: Float) -> any BatchTransform {
        RandomErasing(probability: probability * fraction, scale: scale, ratio: ratio)
    }
}

extension Compose: StrengthScalable {
    /// Scales the parts that have a strength; crops, flips and mixing stay as they are.
    public func scaled(by fraction: Float) -> any BatchTransform {
        Compose(transforms.map { ($0 as? any StrengthScalable)?.scaled(by: fraction) ?? $0 })
    }
}
