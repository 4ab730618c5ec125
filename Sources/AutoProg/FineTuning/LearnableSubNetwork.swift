import Foundation

/// A model built as input modules → a trunk of repeated blocks → output modules (a DiT;
/// later a U-Net's blocks), so fine-tuning can choose which blocks learn.
public protocol BlockStructured: Module {
    /// The repeated blocks, input side first (DiT's `blocks`).
    var trunkBlocks: [Module] { get }
    /// Modules before the trunk: the embedders of the image and of the conditioning
    /// (DiT: x, t and y embedders).
    var inputModules: [Module] { get }
    /// Modules after the trunk (DiT's final layer).
    var outputModules: [Module] { get }
    /// The input modules whose output reaches the trunk only as its conditioning (DiT's
    /// timestep and class embedders, not the patch embedding): with output-first they learn
    /// too, through the learnable blocks (see `LearnableMask`). Default: none.
    var conditioningModules: [Module] { get }
    /// Modules that learn under every mask (DiT: the SID table, which exists only to be
    /// learned). Default: none.
    var alwaysLearnableModules: [Module] { get }
    /// Whether fine-tuning may train `parameter` at all: a fixed buffer-like parameter
    /// (DiT's `pos_embed`) never, and with a parameter-efficient method only its
    /// parameters. Default: every parameter.
    func mayLearn(_ parameter: Parameter) -> Bool
    /// When true, trunk blocks below the lowest learnable one see the conditioning without
    /// its gradient (see `LearnableMask`). Default: not supported (always false).
    var conditionGradientStopsAtLowestLearnableBlock: Bool { get set }
}

extension BlockStructured {
    public var alwaysLearnableModules: [Module] { [] }
    public var conditioningModules: [Module] { [] }
    public func mayLearn(_ parameter: Parameter) -> Bool { true }
    public var conditionGradientStopsAtLowestLearnableBlock: Bool {
        get { false }
        set {}
    }

    /// The names of the parameters that currently learn, in state-dict order.
    public var learnableParameterNames: [String] { namedParameters().filter { $0.1.requiresGrad }.map(\.0) }
}

/// Which blocks a fraction l of the trunk unfreezes.
public enum UnfreezeOrder: String, CaseIterable, Codable, Sendable {
    /// AutoProg-Zero's reference order (the default): block i learns iff i mod 4 < 4·l,
    /// spread over the depth; the input modules and output modules always learn.
    case interleaved
    /// The last ⌈l·depth⌉ blocks, the output modules and the conditioning modules learn;
    /// the other input modules (the patch embedding) are frozen, so backward stops at the
    /// lowest learnable block.
    case outputFirst = "output-first"
    /// The first ⌈l·depth⌉ blocks and the input modules learn; the output modules always do.
    case inputFirst = "input-first"
}

/// A learnable sub-network for fine-tuning (AutoProg-Zero, DESIGN §5): a fraction l of a
/// block-structured model's trunk learns, chosen by `order`; every other parameter is
/// frozen, so it costs no weight-gradient work and no optimizer update, and backward
/// stops below the lowest node that leads to a learnable parameter.
///
/// The conditioning of a DiT (timestep, class and SID embeddings) feeds every block's
/// adaLN modulation. With output-first the patch embedding is frozen, but the
/// conditioning's embedders learn (fine-tuning to new classes must move the class rows,
/// and they cost next to nothing); their exact gradient would flow back through the
/// frozen lower blocks' token path (through shift, scale and gate), costing their whole
/// backward. `apply` therefore sets the model's `conditionGradientStopsAtLowestLearnableBlock`
/// for output-first: frozen blocks below the lowest learnable one get the condition
/// detached (their forward is unchanged), and the conditioning learns through the
/// learnable blocks and the final layer only. Interleaved and input-first always train
/// block 0, so nothing lies below and their gradients are exact.
public struct LearnableMask: Equatable, Codable, Sendable, CustomStringConvertible {
    /// The fraction l of the trunk that learns, in (0, 1]; AutoProg-Zero uses ¼, ½, ¾, 1.
    /// 1 means every parameter learns (whatever the order).
    public var fraction: Double
    public var order: UnfreezeOrder

    public init(fraction: Double = 1, order: UnfreezeOrder = .interleaved) {
        self.fraction = fraction
        self.order = order
    }

    /// Everything learns.
    public static let full = LearnableMask(fraction: 1)

    /// AutoProg-Zero's unfrozen fractions {¼, ½, ¾, 1}.
    public static let stageFractions: [Double] = [0.25, 0.5, 0.75, 1]

    public func validate() throws {
        guard fraction > 0, fraction <= 1 else {
            throw TensorError("learnable mask", "the learnable fraction must be in (0, 1], not \(fraction)")
        }
    }

    public var learnsEverything: Bool { fraction >= 1 }

    /// The learnable trunk blocks (0-based, ascending) of a trunk `depth` blocks deep;
    /// empty for an invalid fraction.
    public func learnableBlocks(depth: Int) -> [Int] {
        guard fraction > 0, fraction <= 1, depth > 0 else { return [] }
        if learnsEverything { return Array(0..<depth) }
        // ⌈l·depth⌉, immune to l·depth landing a hair above an integer (0.3 · 10).
        let count = min(depth, max(1, Int((fraction * Double(depth) - 1e-9).rounded(.up))))
        switch order {
        case .interleaved: return (0..<depth).filter { Double($0 % 4) < 4 * fraction }
        case .outputFirst: return Array((depth - count)..<depth)
        case .inputFirst: return Array(0..<count)
        }
    }

    /// Whether all the input modules (embedders) learn under this mask; output-first trains
    /// only the conditioning ones.
    public var learnsInputModules: Bool { learnsEverything || order != .outputFirst }

    /// Whether each of `model.parameters` (in order) learns under this mask: the parameters
    /// of the learnable blocks, of the input modules when they learn (else of the
    /// conditioning modules), of the output modules and of the always-learnable modules,
    /// provided the model allows it (`mayLearn`: never
    /// DiT's `pos_embed`; with a PEFT method, only its parameters). Throws for an invalid
    /// fraction or when nothing would learn. Changes nothing.
    public func decisions(for model: BlockStructured) throws -> [Bool] {
        try validate()
        let blocks = model.trunkBlocks
        var learnable: [Module] = model.outputModules + model.alwaysLearnableModules
        learnable += learnsInputModules ? model.inputModules : model.conditioningModules
        learnable += learnableBlocks(depth: blocks.count).map { blocks[$0] }
        let chosen = Set(learnable.flatMap(\.parameters).map(ObjectIdentifier.init))
        let decisions = model.parameters.map { p in
            (learnsEverything || chosen.contains(ObjectIdentifier(p))) && model.mayLearn(p)
        }
        guard decisions.contains(true) else {
            throw TensorError("learnable mask", "\(self) leaves no parameter of the \(model.typeName) learnable")
        }
        return decisions
    }

    /// The number of parameter elements that would learn under this mask (nothing changes).
    public func learnableElementCount(in model: BlockStructured) throws -> Int {
        zip(model.parameters, try decisions(for: model)).reduce(0) { $0 + ($1.1 ? $1.0.value.count : 0) }
    }

    /// Sets `requiresGrad` on every parameter of `model` as `decisions` says. Throws,
    /// changing nothing, for an invalid fraction or when nothing would learn.
    public func apply(to model: BlockStructured) throws {
        let decisions = try decisions(for: model)
        for (p, on) in zip(model.parameters, decisions) { p.requiresGrad = on }
        model.conditionGradientStopsAtLowestLearnableBlock = order == .outputFirst && !learnsEverything
    }

    public var description: String {
        "fraction \(fraction) \(order.rawValue)"
    }
}

/// The training resolutions of AutoProg-Zero's stages: `fractions` (¼, ½, ¾, 1) of the
/// full image side, each rounded up to a multiple of the patch size (at least one patch,
/// at most `full`), duplicates dropped. 28 with patch 4 → [8, 16, 24, 28].
public func validResolutions(full: Int, patch: Int, fractions: [Double] = LearnableMask.stageFractions) throws -> [Int] {
    guard full > 0, patch > 0, full % patch == 0 else {
        throw TensorError("resolutions", "the patch size \(patch) must divide the full image size \(full)")
    }
    var sizes: [Int] = []
    for f in fractions {
        guard f > 0, f <= 1 else { throw TensorError("resolutions", "fraction \(f) is not in (0, 1]") }
        let patches = max(1, Int((f * Double(full) / Double(patch) - 1e-9).rounded(.up)))
        let size = min(full, patches * patch)
        if !sizes.contains(size) { sizes.append(size) }
    }
    return sizes
}
