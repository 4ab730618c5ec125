/// A model that can run at an input size other than its configured one: a progressive
/// stage trains it at a lower resolution, evaluation runs it at full (or larger) size.
public protocol ElasticResolution: AnyObject {
    /// The image side inputs are resized to before the forward pass (nil: run at the
    /// inputs' own size).
    var activeImageSize: Int? { get set }
}

extension VisionTransformer: ElasticResolution {
    public var activeImageSize: Int? {
        get { activeGrid.map { $0 * configuration.patchSize } }
        set { activeGrid = newValue.map { $0 / configuration.patchSize } }
    }
}
