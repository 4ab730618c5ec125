import AutoProg
import CLua

/// Fine-tuning: `ap.finetune.prepare(m, {method=...})`, `ap.finetune.resolutions(full, patch)`,
/// and the module methods `m:set_learnable{...}`, `m:learnable()`, `m:enable_sid(stages)`,
/// `m:set_stage(k)`, `m:merge_lora()`.
extension LuaState {
    func installFineTune(_ ap: Int32) {
        pushSubtable(of: ap, "finetune")
        documentation["ap.finetune"] = "Fine-tuning a DiT: prepare(m, {method=\"full\"|\"bitfit\"|\"difffit\"|\"lora\", rank=4, alpha=4, mlp=false}), resolutions(full, patch); see also m:set_learnable, m:enable_sid."
        register([
            LuaBinding("prepare", "ap.finetune.prepare(m, {method=, rank=4, alpha=4, mlp=false}): readies a DiT for fine-tuning — \"full\" (everything learns), \"bitfit\" (biases), \"difffit\" (γ scales on every block's branches, biases), \"lora\" (rank-r adapters on attn qkv/proj, and the MLP with mlp=true, scaled alpha/rank); only that method's parameters learn, and the class embedding and SID table (the target's classes are new). Call after loading the base weights and before ap.train/the optimizer; returns m.") { call in
                let dit = try LuaState.dit(call, 1, context: "ap.finetune.prepare")
                let o = try LuaOptions(call, 2, valid: ["method", "rank", "alpha", "mlp"], context: "ap.finetune.prepare")
                let valid = FineTuningMethod.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
                guard let name = try o.string("method") else {
                    throw LuaBindingError("ap.finetune.prepare: give a method (\(valid))")
                }
                guard let method = FineTuningMethod(rawValue: name) else {
                    throw LuaBindingError("ap.finetune.prepare: unknown method \"\(name)\" (valid: \(valid))")
                }
                if method != .lora, let key = ["rank", "alpha", "mlp"].first(where: { o.has($0) }) {
                    throw LuaBindingError("ap.finetune.prepare: option '\(key)' applies to method \"lora\" only, not \"\(name)\"")
                }
                let defaults = LoRAConfiguration()
                let lora = LoRAConfiguration(rank: try o.integer("rank") ?? defaults.rank,
                                             alpha: try o.float("alpha") ?? defaults.alpha,
                                             includesMLP: try o.boolean("mlp") ?? defaults.includesMLP)
                try LuaState.rethrowing("ap.finetune.prepare") { try dit.prepareFineTuning(method, lora: lora) }
                call.pushValue(1)
                return 1
            },
            LuaBinding("resolutions", "ap.finetune.resolutions(full, patch): AutoProg-Zero's stage image sizes, ¼, ½, ¾ and all of full rounded up to multiples of patch (28, 4 → {8, 16, 24, 28}).") { call in
                let (full, patch) = (try call.integer(1), try call.integer(2))
                try LuaState.rethrowing("ap.finetune.resolutions") {
                    call.push(integers: try validResolutions(full: full, patch: patch))
                }
                return 1
            },
        ], in: -1, path: "ap.finetune")
        lua_settop(L, -2)
    }

    /// Module methods for fine-tuning (registered with the other Module methods).
    var fineTuningModuleMethods: [LuaBinding] {
        [
            LuaBinding("set_learnable", "m:set_learnable{fraction=1, order=\"interleaved\"}: the learnable sub-network of a DiT — a fraction (¼, ½, ¾, 1, or any in (0, 1]) of its blocks learns, chosen \"interleaved\" (block i iff i mod 4 < 4·fraction; embeddings and final layer learn), \"output-first\" (the last blocks and the final layer; the embedders are frozen and backward stops at the lowest learnable block) or \"input-first\" (the first blocks, the embedders and the final layer); everything else is frozen. Returns m.") { call in
                let model = try LuaState.blockStructured(call, 1, context: "m:set_learnable")
                let o = try LuaOptions(call, 2, valid: ["fraction", "order"], context: "m:set_learnable")
                var mask = LearnableMask()
                mask.fraction = try o.number("fraction") ?? 1
                if let name = try o.string("order") {
                    guard let order = UnfreezeOrder(rawValue: name) else {
                        let valid = UnfreezeOrder.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
                        throw LuaBindingError("m:set_learnable: unknown order \"\(name)\" (valid: \(valid))")
                    }
                    mask.order = order
                }
                try LuaState.rethrowing("m:set_learnable") { try mask.apply(to: model) }
                call.pushValue(1)
                return 1
            },
            LuaBinding("learnable", "m:learnable(): the names of the parameters that learn (a list, state-dict order) and their number of elements.") { call in
                let module = try call.object(1, ModuleBox.self).module
                let named = module.namedParameters().filter { $0.1.requiresGrad }
                lua_createtable(call.L, Int32(named.count), 0)
                for (k, (name, _)) in named.enumerated() {
                    lua_pushstring(call.L, name)
                    lua_rawseti(call.L, -2, lua_Integer(k + 1))
                }
                call.push(named.reduce(0) { $0 + $1.1.count })
                return 2
            },
            LuaBinding("enable_sid", "m:enable_sid(stages): adds stage identifiers to a DiT — a learned table sid_embedder.embedding_table.weight of stages + 1 rows (the last is the null stage, used where the label is the null class) added to the class embedding; the current stage starts at the last (sampling's). Enable after loading a base checkpoint made without it. Returns m.") { call in
                let dit = try LuaState.dit(call, 1, context: "m:enable_sid")
                let stages = try call.integer(2)
                try LuaState.rethrowing("m:enable_sid") { try dit.enableStageIdentifiers(stages: stages) }
                call.pushValue(1)
                return 1
            },
            LuaBinding("set_stage", "m:set_stage(k): the stage identifier (1..stages) conditional images get from now on; sampling uses the last. Returns m.") { call in
                let dit = try LuaState.dit(call, 1, context: "m:set_stage")
                let k = try call.integer(2)
                guard let sid = dit.sidEmbedder else {
                    throw LuaBindingError("m:set_stage: this DiT has no stage identifiers (call m:enable_sid(stages) first)")
                }
                guard (1...sid.stages).contains(k) else {
                    throw call.argumentError(2, "stage \(k) is not in 1..\(sid.stages)")
                }
                try dit.setStage(k - 1)
                call.pushValue(1)
                return 1
            },
            LuaBinding("merge_lora", "m:merge_lora(): folds every LoRA adapter into its base weight (W + alpha/rank·B·A) and removes it, for sampling at plain speed; returns how many were merged.") { call in
                let dit = try LuaState.dit(call, 1, context: "m:merge_lora")
                call.push(try dit.mergeLowRankAdapters())
                return 1
            },
        ]
    }

    static func dit(_ call: LuaCall, _ i: Int32, context: String) throws -> DiT {
        let module = try call.object(i, ModuleBox.self).module
        guard let dit = module as? DiT else {
            throw LuaBindingError("\(context): needs a DiT (ap.models.dit), not a \(module.typeName)")
        }
        return dit
    }

    static func blockStructured(_ call: LuaCall, _ i: Int32, context: String) throws -> BlockStructured {
        let module = try call.object(i, ModuleBox.self).module
        guard let model = module as? BlockStructured else {
            throw LuaBindingError("\(context): needs a block-structured model (a DiT), not a \(module.typeName)")
        }
        return model
    }

    /// Runs `body`, giving an engine error the binding's name as its context.
    static func rethrowing<R>(_ context: String, _ body: () throws -> R) throws -> R {
        do {
            return try body()
        } catch let e as TensorError {
            throw LuaBindingError("\(context): \(e.message)")
        }
    }
}
