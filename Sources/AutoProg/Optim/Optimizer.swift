/// A first-order optimizer over a fixed list of parameters (`torch.optim.Optimizer`).
///
/// Optimizers read the gradients that backward accumulated into `Parameter.grad` and
/// update `Parameter.value` in place. Parameters whose `requiresGrad` is false are
/// skipped entirely (no update, no state change), as torch skips parameters whose
/// `.grad` is None, so freezing and unfreezing during a run needs no new optimizer.
public protocol Optimizer: AnyObject {
    /// The parameters updated, in the order their state is saved.
    var parameters: [Parameter] { get }
    /// Learning rate used by the next `step()`; a schedule sets it before each step.
    var learningRate: Float { get set }
    /// Number of `step()` calls so far (restored by `load`).
    var stepCount: Int { get }
    /// Applies one update from the current gradients.
    func step() throws
    /// Zeroes the gradients of this optimizer's parameters (`optimizer.zero_grad(set_to_none=False)`).
    func zeroGrad()
    /// Everything needed to continue bit-identically: state tensors and metadata
    /// (hyper-parameters, counters). Tensors are views of live buffers: write them out
    /// before the next step, or clone them.
    func stateDict() -> SavedState
    /// Restores `stateDict()` output (`optimizer.load_state_dict`), hyper-parameters
    /// included as in torch. Validates everything first and changes nothing on error.
    func load(_ state: SavedState) throws
}

/// Which parameters receive decoupled weight decay.
///
/// The default follows common ViT/DiT practice (timm's `param_groups_weight_decay`):
/// decay matrices and kernels (rank ≥ 2), not biases, norm scales, embeddings' 1-D
/// vectors or other rank-1 tensors. Filters see the parameter's dotted name when the
/// optimizer is built from a module, and its index ("0", "1", …) otherwise.
public struct WeightDecayFilter {
    public let decays: (_ name: String, _ parameter: Parameter) -> Bool

    public init(_ decays: @escaping (_ name: String, _ parameter: Parameter) -> Bool) {
        self.decays = decays
    }

    /// Rank ≥ 2 parameters only.
    public static var matricesOnly: WeightDecayFilter { WeightDecayFilter { _, p in p.shape.count >= 2 } }
    /// Every parameter (torch's behaviour with a single parameter group).
    public static var all: WeightDecayFilter { WeightDecayFilter { _, _ in true } }
    /// Rank ≥ 2 parameters except those named (e.g. `["pos_embed", "cls_token"]`).
    public static func matricesOnly(excluding names: Set<String>) -> WeightDecayFilter {
        WeightDecayFilter { name, p in p.shape.count >= 2 && !names.contains(name) }
    }
    /// Exactly the parameters named.
    public static func only(_ names: Set<String>) -> WeightDecayFilter {
        WeightDecayFilter { name, _ in names.contains(name) }
    }
}
