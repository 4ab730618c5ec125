import AutoProg
import CLua

/// `ap.optim` (AdamW, SGD), `ap.sched` (learning-rate schedules), `ap.clip_grad_norm`
/// and `ap.ema`: the engine's fused optimizers over packed parameters, with state that
/// exports and imports exactly.
extension LuaState {
    func installOptim(_ ap: Int32) {
        documentation["Optimizer"] = "An optimizer (AdamW or SGD) over a model's parameters; opt.lr reads and sets the learning rate."
        documentation["Schedule"] = "A learning-rate schedule: s:lr(step) with step = updates already applied (0 first)."
        documentation["EMA"] = "Exponential moving averages of a model's parameters, one per decay."
        defineType(OptimizerBox.self, methods: optimizerMethods, metamethods: [optimizerSetter], getter: optimizerGetter,
                   tostring: LuaState.describeOptimizer)
        defineType(ScheduleBox.self, methods: scheduleMethods, metamethods: [], getter: { call in
            let s = try call.object(1, ScheduleBox.self)
            guard call.type(2) == LUA_TSTRING, try call.string(2) == "kind" else { return 0 }
            call.push(s.kind)
            return 1
        }, tostring: { s in
            "Schedule \(s.kind)" + ((try? s.resolve().configuration).map { " " + $0.sorted { $0.key < $1.key }.filter { $0.key != "type" }.map { "\($0.key)=\($0.value)" }.joined(separator: " ") } ?? "")
        })
        defineType(EMABox.self, methods: emaMethods, metamethods: [], getter: emaGetter, tostring: { box in
            "EMA decays=\(box.ema.decays.map { "\($0)" }.joined(separator: ",")) updates=\(box.ema.updateCount)"
        })

        pushSubtable(of: ap, "optim")
        documentation["ap.optim"] = "Optimizers: ap.optim.adamw{...}, ap.optim.sgd{...}."
        register(optimizerConstructors, in: -1, path: "ap.optim")
        lua_settop(L, -2)
        pushSubtable(of: ap, "sched")
        documentation["ap.sched"] = "Learning-rate schedules: constant, warmup_constant, linear, cosine; load."
        register(scheduleConstructors, in: -1, path: "ap.sched")
        lua_settop(L, -2)
        register([
            LuaBinding("clip_grad_norm", "ap.clip_grad_norm(model_or_params, max_norm[, norm_type=2]): rescales gradients to norm ≤ max_norm; returns the norm before clipping.") { call in
                let (model, parameters) = try LuaState.parameterSource(call, 1, context: "clip_grad_norm")
                let ps = model?.parameters ?? parameters
                call.push(try clipGradientNorm(ps, maxNorm: try call.float(2), normType: try call.float(3, default: 2)))
                return 1
            },
            LuaBinding("ema", "ap.ema(model, decays[, {warmup = true | {gamma=, power=, min_decay=}}]): moving averages of the parameters (decays a number or list, e.g. {0.998, 0.9999}).") { call in
                let model = try call.object(1, ModuleBox.self).module
                let decays: [Float]
                if call.type(2) == LUA_TNUMBER {
                    decays = [try call.float(2)]
                } else {
                    decays = try call.numbers(ofTable: 2).map(Float.init)
                }
                let options = try LuaOptions(call, 3, valid: ["warmup"], context: "ap.ema")
                var warmup: EMA.Warmup?
                try options.value("warmup") { type in
                    if type == LUA_TBOOLEAN {
                        warmup = lua_toboolean(call.L, -1) != 0 ? EMA.Warmup() : nil
                    } else if type == LUA_TTABLE {
                        let w = try LuaOptions(call, -1, valid: ["gamma", "power", "min_decay"], context: "ap.ema warmup")
                        warmup = EMA.Warmup(gamma: try w.float("gamma") ?? 1, power: try w.float("power") ?? 2.0 / 3.0,
                                            minDecay: try w.float("min_decay") ?? 0)
                    } else {
                        throw LuaBindingError("ap.ema: warmup must be a boolean or {gamma=, power=, min_decay=}")
                    }
                }
                call.push(object: EMABox(try EMA(model: model, decays: decays, warmup: warmup)))
                return 1
            },
        ], in: ap, path: "ap")
    }

    /// Parameters from a module or a list of parameter tensors (`m:parameters()`).
    static func parameterSource(_ call: LuaCall, _ i: Int32, context: String) throws -> (Module?, [Parameter]) {
        if let m = LuaHost.object(call.L, i, ModuleBox.self) { return (m.module, m.module.parameters) }
        guard lua_type(call.L, i) == LUA_TTABLE else {
            throw LuaBindingError("\(context): params must be a Module or a list of parameter tensors, got \(LuaCall.typeName(call.L, i))")
        }
        var parameters: [Parameter] = []
        try call.forEachElement(ofTable: i) { k in
            guard let box = LuaHost.object(call.L, -1, TensorBox.self), let p = box.parameter else {
                throw LuaBindingError("\(context): params[\(k + 1)] is not a parameter (use a module or m:parameters())")
            }
            parameters.append(p)
        }
        return (nil, parameters)
    }

    private var optimizerConstructors: [LuaBinding] {
        [
            LuaBinding("adamw", "ap.optim.adamw{params=model or list, lr=1e-3, betas={0.9, 0.999}, eps=1e-8, weight_decay=0.01}: AdamW (decay on dim ≥ 2 parameters).") { call in
                try LuaState.makeOptimizer(call, kind: "adamw", valid: ["params", "lr", "betas", "eps", "weight_decay"])
            },
            LuaBinding("sgd", "ap.optim.sgd{params=model or list, lr=, momentum=0, dampening=0, weight_decay=0, nesterov=false}: SGD with momentum.") { call in
                try LuaState.makeOptimizer(call, kind: "sgd", valid: ["params", "lr", "momentum", "dampening", "weight_decay", "nesterov"])
            },
        ]
    }

    private static func makeOptimizer(_ call: LuaCall, kind: String, valid: [String]) throws -> Int {
        try call.table(1)
        let o = try LuaOptions(call, 1, valid: valid, context: "ap.optim.\(kind)")
        var s = OptimizerSettings()
        s.learningRate = try o.float("lr")
        s.weightDecay = try o.float("weight_decay")
        if let betas = try o.numbers("betas") {
            guard betas.count == 2 else { throw LuaBindingError("ap.optim.\(kind): betas must be {beta1, beta2}") }
            s.betas = (Float(betas[0]), Float(betas[1]))
        }
        s.epsilon = try o.float("eps") ?? s.epsilon
        s.momentum = try o.float("momentum") ?? s.momentum
        s.dampening = try o.float("dampening") ?? s.dampening
        s.nesterov = try o.boolean("nesterov") ?? s.nesterov
        if kind == "sgd", s.learningRate == nil { throw LuaBindingError("ap.optim.sgd: lr is required") }
        let box = OptimizerBox(kind: kind, settings: s)
        let source = try o.value("params") { _ in try parameterSource(call, -1, context: "ap.optim.\(kind)") }
        if let (model, parameters) = source {
            try box.bind(model: model, parameters: parameters)
        } else {
            // Validate the hyper-parameters now, so a bad value fails where it is written.
            _ = try s.make(kind: kind, model: nil, parameters: [Parameter(Tensor.zeros([1]))])
        }
        call.push(object: box)
        return 1
    }

    static func describeOptimizer(_ box: OptimizerBox) -> String {
        let lr = box.optimizer?.learningRate ?? box.settings.learningRate
        let count = box.optimizer.map { "\($0.parameters.count) parameters, step \($0.stepCount)" } ?? "unbound"
        return "Optimizer \(box.kind) lr=\(lr.map { "\($0)" } ?? "default") (\(count))"
    }

    private var optimizerMethods: [LuaBinding] {
        [
            LuaBinding("step", "opt:step(): applies one update from the current gradients.") { call in
                try call.object(1, OptimizerBox.self).bound("step").step()
                return 0
            },
            LuaBinding("zero_grad", "opt:zero_grad(): zeroes the gradients of the optimizer's parameters.") { call in
                try call.object(1, OptimizerBox.self).bound("zero_grad").zeroGrad()
                return 0
            },
            LuaBinding("set_lr", "opt:set_lr(lr): sets the learning rate of the next steps (also opt.lr = lr).") { call in
                try LuaState.setLearningRate(try call.object(1, OptimizerBox.self), try call.float(2))
                return 0
            },
            LuaBinding("state_dict", "opt:state_dict(): {tensors = name → tensor (copies), metadata = key → string}; continues bit-identically when loaded.") { call in
                let saved = try call.object(1, OptimizerBox.self).bound("state_dict").stateDict()
                LuaState.pushSavedState(call, saved)
                return 1
            },
            LuaBinding("load_state_dict", "opt:load_state_dict(s): restores state_dict() output (validated first; nothing changes on error).") { call in
                let optimizer = try call.object(1, OptimizerBox.self).bound("load_state_dict")
                try optimizer.load(try LuaState.readSavedState(call, 2))
                return 0
            },
        ]
    }

    static func setLearningRate(_ box: OptimizerBox, _ lr: Float) throws {
        guard lr >= 0, lr.isFinite else { throw LuaBindingError("\(box.kind): invalid learning rate \(lr)") }
        if let optimizer = box.optimizer { optimizer.learningRate = lr } else { box.settings.learningRate = lr }
    }

    private var optimizerGetter: (LuaCall) throws -> Int {
        { call in
            let box = try call.object(1, OptimizerBox.self)
            guard call.type(2) == LUA_TSTRING else { return 0 }
            switch try call.string(2) {
            case "lr":
                if let lr = box.optimizer?.learningRate ?? box.settings.learningRate { call.push(lr) } else { call.pushNil() }
            case "steps": call.push(box.optimizer?.stepCount ?? 0)
            case "kind": call.push(box.kind)
            default: call.pushNil()
            }
            return 1
        }
    }

    private var optimizerSetter: LuaBinding {
        LuaBinding("__newindex", "") { call in
            let box = try call.object(1, OptimizerBox.self)
            guard call.type(2) == LUA_TSTRING, try call.string(2) == "lr" else {
                throw LuaBindingError("cannot set field '\(call.type(2) == LUA_TSTRING ? try call.string(2) : call.typeName(2))' of an Optimizer (settable: lr)")
            }
            try LuaState.setLearningRate(box, try call.float(3))
            return 0
        }
    }

    /// `{tensors = ordered name → tensor copies, metadata = {key = string}}`.
    static func pushSavedState(_ call: LuaCall, _ saved: SavedState) {
        var copies = StateDict()
        for (k, v) in saved.tensors { copies[k] = v.clone() }
        lua_createtable(call.L, 0, 2)
        pushStateDict(call, copies)
        lua_setfield(call.L, -2, "tensors")
        pushStringTable(call, saved.metadata)
        lua_setfield(call.L, -2, "metadata")
    }

    static func pushStringTable(_ call: LuaCall, _ values: [String: String]) {
        lua_createtable(call.L, 0, Int32(values.count))
        for (k, v) in values {
            lua_pushstring(call.L, v)
            lua_setfield(call.L, -2, k)
        }
    }

    static func readSavedState(_ call: LuaCall, _ i: Int32) throws -> SavedState {
        try call.table(i)
        guard call.rawField(i, "tensors") == LUA_TTABLE else {
            lua_settop(call.L, -2)
            throw call.argumentError(i, "expected {tensors = ..., metadata = ...} from state_dict()")
        }
        let tensors = try readStateDict(call, -1)
        lua_settop(call.L, -2)
        call.rawField(i, "metadata")
        defer { lua_settop(call.L, -2) }
        let metadata = try readStringTable(call, -1, context: "metadata")
        return SavedState(tensors: tensors, metadata: metadata)
    }

    /// A string → string table (numbers and booleans are converted); nil gives [:].
    static func readStringTable(_ call: LuaCall, _ i: Int32, context: String) throws -> [String: String] {
        let L = call.L
        if lua_type(L, i) == LUA_TNIL || lua_type(L, i) == LUA_TNONE { return [:] }
        guard lua_type(L, i) == LUA_TTABLE else { throw LuaBindingError("\(context) must be a table of strings") }
        let t = lua_absindex(L, i)
        var out: [String: String] = [:]
        lua_pushnil(L)
        while lua_next(L, t) != 0 {
            defer { lua_settop(L, -2) }
            guard lua_type(L, -2) == LUA_TSTRING else {
                lua_settop(L, -2)
                throw LuaBindingError("\(context): keys must be strings")
            }
            let key = String(cString: lua_tolstring(L, -2, nil))
            switch lua_type(L, -1) {
            case LUA_TSTRING:
                out[key] = String(cString: lua_tolstring(L, -1, nil))
            case LUA_TNUMBER:
                lua_pushvalue(L, -1)  // convert a copy: lua_next needs the original key/value untouched
                out[key] = String(cString: lua_tolstring(L, -1, nil))
                lua_settop(L, -2)
            case LUA_TBOOLEAN:
                out[key] = lua_toboolean(L, -1) != 0 ? "true" : "false"
            default:
                let found = LuaCall.typeName(L, -1)
                lua_settop(L, -2)
                throw LuaBindingError("\(context): value of '\(key)' is a \(found), expected a string")
            }
        }
        return out
    }

    // MARK: Schedules

    private var scheduleConstructors: [LuaBinding] {
        func schedule(_ kind: String, _ doc: String, _ valid: [String]) -> LuaBinding {
            LuaBinding(kind, doc) { call in
                let o = try LuaOptions(call, 1, valid: valid, context: "ap.sched.\(kind)")
                let box = ScheduleBox(kind: kind, learningRate: try o.float("lr"), totalSteps: try o.integer("total"),
                                      warmupSteps: try o.integer("warmup") ?? 0, minLearningRate: try o.float("min_lr") ?? 0,
                                      endFactor: try o.float("end_factor") ?? 0)
                // Validate now when fully specified; a training loop fills in lr and total otherwise.
                if box.learningRate != nil, box.totalSteps != nil || kind == "constant" || kind == "warmup_constant" {
                    _ = try box.resolve()
                }
                call.push(object: box)
                return 1
            }
        }
        return [
            schedule("constant", "ap.sched.constant{lr=}: a fixed learning rate.", ["lr"]),
            schedule("warmup_constant", "ap.sched.warmup_constant{lr=, warmup=}: linear warm-up from 0 over warmup steps, then constant.", ["lr", "warmup"]),
            schedule("linear", "ap.sched.linear{lr=, total=, warmup=0, end_factor=0}: warm-up, then linear decay to end_factor·lr at total steps.", ["lr", "total", "warmup", "end_factor"]),
            schedule("cosine", "ap.sched.cosine{lr=, total=, warmup=0, min_lr=0}: warm-up, then half-cosine decay to min_lr at total steps.", ["lr", "total", "warmup", "min_lr"]),
            LuaBinding("load", "ap.sched.load(state): the schedule a s:state_dict() table describes.") { call in
                try call.table(1)
                let configuration = try LuaState.readStringTable(call, 1, context: "ap.sched.load")
                call.push(object: ScheduleBox(restoring: try makeLearningRateSchedule(from: configuration)))
                return 1
            },
        ]
    }

    private var scheduleMethods: [LuaBinding] {
        [
            LuaBinding("lr", "s:lr(step): the learning rate of update number step (0-based: updates already applied).") { call in
                let s = try call.object(1, ScheduleBox.self)
                let step = try call.integer(2)
                guard step >= 0 else { throw call.argumentError(2, "step must be ≥ 0") }
                call.push(try s.resolve().learningRate(at: step))
                return 1
            },
            LuaBinding("state_dict", "s:state_dict(): the schedule's configuration (strings), for ap.sched.load.") { call in
                LuaState.pushStringTable(call, try call.object(1, ScheduleBox.self).resolve().configuration)
                return 1
            },
        ]
    }

    // MARK: EMA

    private var emaMethods: [LuaBinding] {
        [
            LuaBinding("update", "ema:update(): moves every average towards the model's current parameters.") { call in
                try call.object(1, EMABox.self).ema.update()
                return 0
            },
            LuaBinding("copy_to", "ema:copy_to(model[, i=1]): copies average i (1-based) into model's parameters.") { call in
                let ema = try call.object(1, EMABox.self).ema
                let model = try call.object(2, ModuleBox.self).module
                try ema.copy(into: model, decayIndex: try LuaState.decayIndex(call, 3, ema))
                return 0
            },
            LuaBinding("weights", "ema:weights([i=1]): average i as a state dict (name → tensor).") { call in
                let ema = try call.object(1, EMABox.self).ema
                LuaState.pushStateDict(call, try ema.weights(decayIndex: try LuaState.decayIndex(call, 2, ema)))
                return 1
            },
            LuaBinding("state_dict", "ema:state_dict(): {tensors =, metadata =} with every average and the update count.") { call in
                LuaState.pushSavedState(call, try call.object(1, EMABox.self).ema.stateDict())
                return 1
            },
            LuaBinding("load_state_dict", "ema:load_state_dict(s): restores state_dict() output.") { call in
                try call.object(1, EMABox.self).ema.load(try LuaState.readSavedState(call, 2))
                return 0
            },
        ]
    }

    static func decayIndex(_ call: LuaCall, _ i: Int32, _ ema: EMA) throws -> Int {
        let k = try call.integer(i, default: 1)
        guard k >= 1, k <= ema.decays.count else {
            throw call.argumentError(i, "average \(k) does not exist (1..\(ema.decays.count); 1-based)")
        }
        return k - 1
    }

    private var emaGetter: (LuaCall) throws -> Int {
        { call in
            let ema = try call.object(1, EMABox.self).ema
            guard call.type(2) == LUA_TSTRING else { return 0 }
            switch try call.string(2) {
            case "decays": call.push(sequence: ema.decays.map(Double.init))
            case "updates": call.push(ema.updateCount)
            default: call.pushNil()
            }
            return 1
        }
    }
}
