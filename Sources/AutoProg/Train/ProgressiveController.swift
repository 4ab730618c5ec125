import OrderedCollections

/// The slot where progressive-learning algorithms plug into the training loop.
///
/// A controller acts only between steps (DESIGN §1: layers know nothing about stages):
/// before a step it may grow the model, switch a sub-network, unfreeze blocks or change
/// the input resolution, and tell the trainer to rebuild the optimizer. Its state goes
/// into every checkpoint so a resumed run continues the same schedule.
public protocol ProgressiveController: AnyObject {
    /// The current stage's label for logs ("stage 2/4: n=5 l=8"), or nil.
    var stageDescription: String? { get }

    /// Called before every step; returns what changed so the trainer can react.
    func willStep(_ trainer: Trainer) throws -> ControllerAction

    /// Called after every optimizer step (and EMA update), before the step is logged,
    /// evaluated or checkpointed: e.g. a supernet goes back to its largest sub-network.
    func didStep(_ trainer: Trainer) throws

    /// Extra fields of the step's metrics.jsonl line (e.g. the sub-network it ran).
    func stepRecord() -> OrderedDictionary<String, JSONValue>

    /// Transforms a batch before the forward pass (e.g. resize to the stage's resolution).
    func prepare(_ batch: Batch) throws -> Batch

    /// What metrics.jsonl records when a stage starts (its sub-network, FLOPs, ...).
    func stageRecord() -> OrderedDictionary<String, JSONValue>

    func stateDict() -> SavedState
    func load(_ state: SavedState) throws
}

/// What a controller did before a step.
public struct ControllerAction: OptionSet, Sendable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }
    /// The parameter set changed: build a fresh optimizer (and EMA) over the model.
    public static let parametersChanged = ControllerAction(rawValue: 1 << 0)
    /// A new stage began (the trainer calls the `onStage` hook and logs the stage).
    public static let stageStarted = ControllerAction(rawValue: 1 << 1)
    /// Same parameters, fresh optimizer state (the global LR schedule continues).
    public static let optimizerReset = ControllerAction(rawValue: 1 << 2)
    public static let none: ControllerAction = []
}

extension ProgressiveController {
    public func prepare(_ batch: Batch) throws -> Batch { batch }
    public func stageRecord() -> OrderedDictionary<String, JSONValue> { [:] }
    public func didStep(_ trainer: Trainer) throws {}
    public func stepRecord() -> OrderedDictionary<String, JSONValue> { [:] }
}
