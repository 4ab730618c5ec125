/// How a pre-trained DiT is fine-tuned: all of it (AutoProg-Zero's masks choose the
/// learnable blocks) or one of the parameter-efficient baselines it is compared with.
///
/// The class embedding learns under every method. Fine-tuning moves a class-conditional
/// model to new classes, and their embedding rows are its new head, as a classifier's
/// head is under every PEFT method. (It is not enough for BitFit: with the table
/// learnable too, 2000 steps of BitFit still sample the target classes at chance, 20 %,
/// on the Fashion-MNIST split; biases alone cannot draw shapes the base never drew.)
public enum FineTuningMethod: String, CaseIterable, Codable, Sendable {
    /// Every parameter learns (but DiT's fixed `pos_embed`).
    case full
    /// BitFit (Ben Zaken et al. 2022): the bias terms learn (every `*.bias`), and the class embedding.
    case bitfit
    /// DiffFit (Xie et al. 2023): scale factors γ₁, γ₂ [D] (initialised to 1) on every
    /// block's attention and MLP branches, plus the bias terms, the norms' affine
    /// parameters (DiT's norms have none) and the class embedding learn.
    case difffit
    /// LoRA (Hu et al. 2021): rank-r adapters on the attention projections (qkv, proj; and
    /// optionally the MLP's fc1, fc2) learn, and the class embedding; every base weight and
    /// bias is frozen.
    case lora
}

/// The LoRA adapters `prepareFineTuning(.lora, ...)` attaches.
public struct LoRAConfiguration: Equatable, Codable, Sendable {
    public var rank: Int
    /// The update is scaled by α/r (peft's `lora_alpha`).
    public var alpha: Float
    /// Also adapt each block's MLP (fc1, fc2), not only the attention projections.
    public var includesMLP: Bool

    public init(rank: Int = 4, alpha: Float = 4, includesMLP: Bool = false) {
        self.rank = rank
        self.alpha = alpha
        self.includesMLP = includesMLP
    }
}

extension DiT {
    /// Prepares the model for fine-tuning with `method`: installs its parameters (DiffFit's
    /// `blocks.N.gamma_1`/`gamma_2`, LoRA's `....lora_A.weight`/`lora_B.weight`) and sets
    /// `requiresGrad` so that exactly the method's parameters learn; the SID table, when
    /// enabled, learns under every method. Call it after loading the base checkpoint and
    /// before building the optimizer (and EMA), which must see the new parameters.
    ///
    /// Once prepared for DiffFit or LoRA (which add parameters), a model stays so: calling
    /// again with the same method (and LoRA configuration) only resets `requiresGrad`, and
    /// another method is an error. Full and BitFit add nothing and can be switched freely.
    public func prepareFineTuning(_ method: FineTuningMethod, lora: LoRAConfiguration = LoRAConfiguration()) throws {
        let adapted = loraTargets(includingMLP: true).filter { $0.lowRankAdapter != nil }
        if fineTuningMethod.addsParameters, method != fineTuningMethod {
            throw TensorError("fine-tuning", "this DiT is prepared for \(fineTuningMethod.rawValue) already; build a fresh model for \(method.rawValue)")
        }
        switch method {
        case .full, .bitfit:
            break
        case .difffit:
            for block in blocks.items { block.enableDiffFitScales() }
        case .lora:
            if let first = adapted.first?.lowRankAdapter {
                let installed = LoRAConfiguration(rank: first.rank, alpha: first.alpha,
                                                  includesMLP: blocks.items.first?.mlp.fc1.lowRankAdapter != nil)
                guard installed == lora else {
                    throw TensorError("fine-tuning", "LoRA adapters (rank \(installed.rank), alpha \(installed.alpha), mlp \(installed.includesMLP)) are attached already; cannot change them to rank \(lora.rank), alpha \(lora.alpha), mlp \(lora.includesMLP)")
                }
            } else {
                let targets = loraTargets(includingMLP: lora.includesMLP)
                // Check the rank against every target before changing anything.
                for linear in targets where lora.rank > min(linear.inFeatures, linear.outFeatures) || lora.rank < 1 {
                    throw TensorError("fine-tuning", "LoRA rank \(lora.rank) must be in 1...\(min(linear.inFeatures, linear.outFeatures)) for the \(linear.inFeatures) → \(linear.outFeatures) projections")
                }
                guard lora.alpha.isFinite, lora.alpha > 0 else {
                    throw TensorError("fine-tuning", "LoRA alpha must be positive, not \(lora.alpha)")
                }
                for linear in targets { try linear.attachLowRankAdapter(rank: lora.rank, alpha: lora.alpha) }
            }
        }
        fineTuningMethod = method
        conditionGradientStopsAtLowestLearnableBlock = false
        let learnable = method.learnableParameters(of: self)
        for p in parameters { p.requiresGrad = learnable.contains(ObjectIdentifier(p)) }
    }

    /// The Linears LoRA adapts: each block's attn.qkv and attn.proj, and with the MLP its fc1 and fc2.
    func loraTargets(includingMLP: Bool) -> [Linear] {
        blocks.items.flatMap { b in [b.attn.qkv, b.attn.proj] + (includingMLP ? [b.mlp.fc1, b.mlp.fc2] : []) }
    }

    /// Folds every LoRA adapter into its base weight and removes it (for sampling at plain
    /// speed); returns how many were merged. The state dict is then a plain DiT's again.
    @discardableResult
    public func mergeLowRankAdapters() throws -> Int {
        let adapted = loraTargets(includingMLP: true).filter { $0.lowRankAdapter != nil }
        for linear in adapted { try linear.mergeLowRankAdapter() }
        return adapted.count
    }
}

extension FineTuningMethod {
    /// Whether preparing installs new parameters (DiffFit's scales, LoRA's adapters).
    public var addsParameters: Bool { self == .difffit || self == .lora }

    /// The parameters of `model` this method trains (by identity): always the class
    /// embedding and the SID table, never `pos_embed`.
    public func learnableParameters(of model: DiT) -> Set<ObjectIdentifier> {
        var chosen = Set<ObjectIdentifier>()
        func add(_ ps: [Parameter]) { for p in ps { chosen.insert(ObjectIdentifier(p)) } }
        switch self {
        case .full:
            add(model.parameters)
        case .bitfit:
            add(model.namedParameters().filter { $0.0.split(separator: ".").last == "bias" }.map(\.1))
        case .difffit:
            add(model.namedParameters().filter { $0.0.split(separator: ".").last == "bias" }.map(\.1))
            for (_, m) in model.namedModules() where m is LayerNorm || m is GroupNorm { add(m.parameters) }
            for block in model.blocks.items {
                if let (g1, g2) = block.diffFitScales { add([g1, g2]) }
            }
        case .lora:
            for (_, m) in model.namedModules() {
                if let adapter = (m as? Linear)?.lowRankAdapter { add(adapter.down.parameters + adapter.up.parameters) }
            }
        }
        add(model.yEmbedder.parameters)
        if let sid = model.sidEmbedder { add(sid.parameters) }
        chosen.remove(ObjectIdentifier(model.posEmbed))
        return chosen
    }
}
