import OrderedCollections

/// What the loop reports to hooks and logs: where training is and how it is going.
public struct TrainingState {
    public var step = 0            // steps completed
    public var epoch = 0           // epochs completed
    public var totalSteps = 0
    public var stepsPerEpoch = 0
    public var loss: Float = .nan  // last step's mean loss
    public var learningRate: Float = 0
    public var imagesPerSecond = 0.0
    /// Wall time of the last step (controllers measure a sub-network's step time from it).
    public var stepSeconds = 0.0
    public var stage: String?
    /// The last evaluation's metrics (e.g. "loss", "top1"), empty before the first.
    public var eval: OrderedDictionary<String, Double> = [:]
    /// Wall time of the run so far, evaluation included (a resumed run counts its
    /// earlier processes too).
    public var elapsedSeconds = 0.0
    /// Wall time of the steps themselves (growth included; evaluation and checkpoints
    /// not): what a progressive schedule saves, comparable across runs.
    public var trainingSeconds = 0.0
}

/// The result of evaluating a classifier on a dataset.
public struct Evaluation {
    public var loss: Double
    public var top1: Double       // percent
    public var count: Int
}
