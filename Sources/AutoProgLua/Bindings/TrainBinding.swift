import AutoProg
import CLua
import CLuaBridge
import Foundation
import OrderedCollections

/// A training run as Lua holds it (`local run = ap.train{...}`).
final class RunBox: LuaHostObject {
    static let luaTypeName = "autoprog.Run"
    let trainer: Trainer
    init(_ trainer: Trainer) { self.trainer = trainer }
}

/// `ap.train{...}`: the one training loop all recipes share, bound to the recipe's run
/// (run directory, notebook, console) when `autoprog-run` runs it.
extension LuaState {
    static let trainKeys = [
        "model", "data", "eval", "epochs", "steps", "batch", "eval_batch", "optimizer", "lr_schedule", "grad_accum",
        "clip_grad", "ema", "ema_warmup", "eval_ema", "eval_on_stage", "label_smoothing", "eval_every", "checkpoint_every", "keep_last", "log_every",
        "shuffle", "augment", "progressive", "sample_every", "sample", "loss", "on_step", "on_epoch", "on_eval", "on_checkpoint", "on_stage",
    ]
    static let hookKeys = ["loss", "sample", "on_step", "on_epoch", "on_eval", "on_checkpoint", "on_stage"]

    func installTrain(_ ap: Int32) {
        documentation["Run"] = "A training run: run.dir, run.step, run.epoch, run.loss, run.lr, run:evaluate(data), run:checkpoint(), run:state()."
        defineType(RunBox.self, methods: runMethods, metamethods: [], getter: { call in
            let box = try call.object(1, RunBox.self)
            guard call.type(2) == LUA_TSTRING else { return 0 }
            let t = box.trainer
            switch try call.string(2) {
            case "dir": if let run = t.run { call.push(run.url.path) } else { call.pushNil() }
            case "step": call.push(t.state.step)
            case "epoch": call.push(t.state.epoch)
            case "loss": call.push(t.state.loss)
            case "lr": call.push(t.optimizer.learningRate)
            case "interrupted": call.push(t.interrupted)
            default: return 0
            }
            return 1
        }, tostring: { box in
            let s = box.trainer.state
            return "Run step \(s.step)/\(s.totalSteps) epoch \(s.epoch) loss \(s.loss)" + (box.trainer.run.map { " at \($0.url.path)" } ?? "")
        })
        register([
            LuaBinding("train", "ap.train{model=, data=, eval=, epochs= | steps=, batch=, augment={crop=, flip=, randaugment=, erase=, mixup=, cutmix=}, optimizer=ap.optim.adamw{}, lr_schedule=, grad_accum=1, clip_grad=, ema={decays}, ema_warmup=false, eval_ema=false, eval_on_stage=false, progressive={schedule= prog|progstack|autoprog|supernet|{stages}, stages=, space=, operator=, reset_optimizer=, regularisation=, alpha=, search_epochs=, search_steps=, search_images=, recycle=, replay=} for a ViT, or for a DiT (fine-tuning) {schedule= autoprog-zero|prog|autoprog-one, stages=4, space=0.25, order= interleaved|output-first|input-first, diffusion=, ntk_samples=8, zico_batches=2, timing_steps=5, search_steps=, alpha=, last_full_model=true}, label_smoothing=0, eval_every=, checkpoint_every=, keep_last=3, log_every=1, shuffle=true, loss=function(model, batch), sample=function(model, state) → images [N,C,H,W] in [0,1], sample_every=, on_step/on_epoch/on_eval/on_checkpoint/on_stage=function(state)}: trains and returns the run.") { call in
                try LuaState.train(call)
            },
        ], in: ap, path: "ap")
    }

    private var runMethods: [LuaBinding] {
        [
            LuaBinding("evaluate", "run:evaluate([data][, {size=}]): {loss=, top1=, count=} of the model on data (default: the eval set) at full size, or with the images resized to size×size (e.g. larger than trained).") { call in
                let box = try call.object(1, RunBox.self)
                let data = try call.isNoneOrNil(2) ? nil : LuaState.dataset(call, 2, key: "data")
                let o = try LuaOptions(call, 3, valid: ["size"], context: "run:evaluate")
                let e = try box.trainer.evaluate(data, imageSize: try o.integer("size"))
                lua_createtable(call.L, 0, 3)
                call.push(e.loss); call.setRawField(-2, "loss")
                call.push(e.top1); call.setRawField(-2, "top1")
                call.push(e.count); call.setRawField(-2, "count")
                return 1
            },
            LuaBinding("checkpoint", "run:checkpoint(): saves a checkpoint now; returns its path (nil without a run directory).") { call in
                let box = try call.object(1, RunBox.self)
                if let url = try box.trainer.saveCheckpoint() { call.push(url.path) } else { call.pushNil() }
                return 1
            },
            LuaBinding("log", "run:log{key=value, ...}: appends a record (numbers, strings, booleans) to metrics.jsonl at the current step, e.g. final results.") { call in
                let box = try call.object(1, RunBox.self)
                try call.table(2)
                var fields = OrderedDictionary<String, JSONValue>()
                for key in try call.stringKeys(2).sorted() {
                    defer { lua_settop(call.L, -2) }
                    switch call.rawField(2, key) {
                    case LUA_TNUMBER: fields[key] = .number(lua_tonumberx(call.L, -1, nil))
                    case LUA_TSTRING: fields[key] = .string(String(cString: lua_tolstring(call.L, -1, nil)))
                    case LUA_TBOOLEAN: fields[key] = .bool(lua_toboolean(call.L, -1) != 0)
                    default: throw LuaBindingError("run:log: '\(key)' must be a number, string or boolean, got \(LuaCall.typeName(call.L, -1))")
                    }
                }
                try box.trainer.log(fields)
                return 0
            },
            LuaBinding("ema_state_dict", "run:ema_state_dict([k=1]): the k-th EMA copy's weights as a state dict (ap.save takes it as is): what generative models are sampled and shipped with.") { call in
                let box = try call.object(1, RunBox.self)
                guard let ema = box.trainer.ema else { throw LuaBindingError("run:ema_state_dict: this run keeps no EMA (ap.train{ema = {0.9999}})") }
                let k = call.isNoneOrNil(2) ? 1 : try call.integer(2)
                guard k >= 1, k <= ema.decays.count else {
                    throw LuaBindingError("run:ema_state_dict: copy \(k) out of range 1..\(ema.decays.count)")
                }
                // The model's whole state dict (buffers too) with the averaged parameters.
                let model = box.trainer.model
                LuaState.pushStateDict(call, try ema.swapped(decayIndex: k - 1) { model.stateDict().mapValues { $0.clone() } })
                return 1
            },
            LuaBinding("state", "run:state(): the training state table hooks receive.") { call in
                LuaState.pushState(call, try call.object(1, RunBox.self).trainer.state)
                return 1
            },
        ]
    }

    static let augmentKeys = ["crop", "flip", "randaugment", "randaugment_std", "erase", "mixup", "cutmix", "smoothing"]

    /// `augment = {crop = {0.08, 1}, flip = 0.5, randaugment = 9, randaugment_std = 0.5,
    /// erase = 0.25, mixup = 0.8, cutmix = 1.0, smoothing = 0.1}` (DeiT's recipe, each
    /// part optional) → per-image transforms in that order, then batch mixing.
    static func augmentation(_ call: LuaCall, _ i: Int32, data: Dataset) throws -> any BatchTransform {
        let o = try LuaOptions(call, i, valid: augmentKeys, context: "ap.train augment")
        var transforms: [any BatchTransform] = []
        let size = data.imageShape[1]
        if let crop = try o.value("crop", { type -> [Double]? in
            if type == LUA_TBOOLEAN { return lua_toboolean(call.L, -1) != 0 ? [0.08, 1] : nil }
            return try o.numbers("crop")
        }) ?? nil {
            guard crop.count == 2, crop[0] > 0, crop[0] <= crop[1], crop[1] <= 1 else {
                throw LuaBindingError("ap.train augment: crop must be true or {min_scale, max_scale} within (0, 1]")
            }
            transforms.append(RandomResizedCrop(size: size, scale: Float(crop[0])...Float(crop[1])))
        }
        if let p = try o.float("flip") { transforms.append(RandomHorizontalFlip(probability: p)) }
        if let m = try o.float("randaugment") {
            transforms.append(RandAugmentLite(operations: 2, magnitude: m, magnitudeStd: try o.float("randaugment_std") ?? 0))
        }
        if let p = try o.float("erase") { transforms.append(RandomErasing(probability: p)) }
        let mixup = try o.float("mixup"), cutmix = try o.float("cutmix")
        if mixup != nil || cutmix != nil {
            transforms.append(MixupCutmix(mixupAlpha: mixup ?? 0, cutmixAlpha: cutmix ?? 0,
                                          labelSmoothing: try o.float("smoothing") ?? 0.1, classes: data.classNames.count))
        }
        return Compose(transforms)
    }

    static let progressiveKeys = ["schedule", "stages", "space", "operator", "reset_optimizer", "regularisation",
                                  "alpha", "search_epochs", "search_steps", "search_images", "recycle", "replay"]
    static let searchKeys = ["alpha", "search_epochs", "search_steps", "search_images", "recycle"]

    /// `progressive = {schedule = "prog" | "progstack" | "autoprog" | "supernet" | {{grid=, depth=, fraction=}, ...},
    /// stages = 4, space = 0.5, operator = "mogrow", reset_optimizer = true,
    /// regularisation = false | true | start}` for a ViT, or `{replay = "schedule.json"}`.
    /// `regularisation` turns on adaptive regularisation, from `start` (default 0.5) of full
    /// strength in the first stage. AutoProg-One ("autoprog") also takes `alpha = "fit" | α`,
    /// `search_epochs = 2` (or `search_steps =`), `search_images = 512`, `recycle = true`.
    static func progController(_ call: LuaCall, _ i: Int32, model: Module) throws -> ProgressiveController {
        if let dit = model as? DiT { return try fineTuneController(call, i, model: dit) }
        guard let vit = model as? VisionTransformer else {
            throw LuaBindingError("ap.train: progressive training needs a ViT (pre-training) or a DiT (fine-tuning), got \(model.typeName)")
        }
        let o = try LuaOptions(call, i, valid: progressiveKeys, context: "ap.train progressive")
        let c = vit.configuration
        let op = try GrowthOperator.named(try o.string("operator") ?? "mogrow")
        let space = try GrowthSpace(stages: try o.integer("stages") ?? 4, smallestRatio: try o.float("space") ?? 0.5,
                                    fullGrid: c.gridSize, fullDepth: c.depth)
        let regularisation = try o.value("regularisation") { type -> AdaptiveRegularisation? in
            if type == LUA_TBOOLEAN { return lua_toboolean(call.L, -1) != 0 ? try AdaptiveRegularisation() : nil }
            guard let start = try o.number("regularisation") else { return nil }
            return try AdaptiveRegularisation(start: Float(start))
        } ?? nil
        var stages = ProgressiveStage.prog(space)
        var search: AutoProgController.Mode?
        if let replay = try o.string("replay") {
            guard !o.has("schedule") else { throw LuaBindingError("ap.train progressive: give schedule= or replay=, not both") }
            let url = URL(fileURLWithPath: replay)
            stages = try ScheduleRecord.read(url).replayStages(for: c, source: url.path)
        }
        try o.value("schedule") { type in
            if type == LUA_TSTRING {
                switch String(cString: lua_tolstring(call.L, -1, nil)) {
                case "prog": stages = ProgressiveStage.prog(space)
                case "progstack": stages = ProgressiveStage.progStack(fullGrid: c.gridSize, fullDepth: c.depth)
                case "autoprog": search = .search
                case "supernet": search = .supernet
                case let other: throw LuaBindingError("ap.train progressive: unknown schedule '\(other)' (prog, progstack, autoprog, supernet, or a list of stages)")
                }
            } else if type == LUA_TTABLE {
                stages = []
                try call.forEachElement(ofTable: -1) { k in
                    let s = try LuaOptions(call, -1, valid: ["grid", "depth", "fraction"], context: "ap.train progressive stage \(k + 1)")
                    stages.append(ProgressiveStage(grid: try s.integer("grid") ?? c.gridSize, depth: try s.integer("depth") ?? c.depth,
                                                   fraction: try s.number("fraction") ?? 1))
                }
            } else {
                throw LuaBindingError("ap.train progressive: schedule must be a name or a list of stages")
            }
        }
        guard let mode = search else {
            if let key = searchKeys.first(where: o.has) {
                throw LuaBindingError("ap.train progressive: '\(key)' is an option of schedule = \"autoprog\" (or \"supernet\")")
            }
            let controller = try ProgController(model: vit, stages: stages, operator: op)
            controller.resetsOptimizer = try o.boolean("reset_optimizer") ?? true
            controller.regularisation = regularisation
            return controller
        }
        let alpha = try o.value("alpha") { type -> Double? in
            if type == LUA_TSTRING, String(cString: lua_tolstring(call.L, -1, nil)) == "fit" { return nil }
            guard type == LUA_TNUMBER else { throw LuaBindingError("ap.train progressive: alpha must be \"fit\" or a number ≥ 0") }
            return lua_tonumberx(call.L, -1, nil)
        } ?? nil
        let controller = try AutoProgController(model: vit, space: space, mode: mode, operator: op, alpha: alpha)
        if o.has("search_epochs"), o.has("search_steps") {
            throw LuaBindingError("ap.train progressive: give search_epochs= or search_steps=, not both")
        }
        if let e = try o.number("search_epochs") {
            guard e > 0, e.isFinite else { throw LuaBindingError("ap.train progressive: search_epochs must be positive, not \(e)") }
            controller.searchLength = .epochs(e)
        }
        if let n = try o.integer("search_steps") {
            guard n > 0 else { throw LuaBindingError("ap.train progressive: search_steps must be positive, not \(n)") }
            controller.searchLength = .steps(n)
        }
        if let n = try o.integer("search_images") {
            guard n > 0 else { throw LuaBindingError("ap.train progressive: search_images must be positive, not \(n)") }
            controller.searchImages = n
        }
        controller.recycles = try o.boolean("recycle") ?? true
        controller.prog.resetsOptimizer = try o.boolean("reset_optimizer") ?? true
        controller.prog.regularisation = regularisation
        return controller
    }

    static func dataset(_ call: LuaCall, _ i: Int32, key: String) throws -> Dataset {
        guard let box = LuaHost.object(call.L, i, DatasetBox.self) else {
            throw LuaBindingError("ap.train: \(key) must be a Dataset (e.g. ap.data.fashion_mnist{}), got \(LuaCall.typeName(call.L, i))")
        }
        return box.dataset
    }

    static func pushState(_ call: LuaCall, _ s: TrainingState) {
        lua_createtable(call.L, 0, 12)
        call.push(s.step); call.setRawField(-2, "step")
        call.push(s.epoch); call.setRawField(-2, "epoch")
        call.push(s.totalSteps); call.setRawField(-2, "total_steps")
        call.push(s.stepsPerEpoch); call.setRawField(-2, "steps_per_epoch")
        call.push(s.loss); call.setRawField(-2, "loss")
        call.push(s.learningRate); call.setRawField(-2, "lr")
        call.push(s.imagesPerSecond); call.setRawField(-2, "imgs_per_s")
        call.push(s.elapsedSeconds); call.setRawField(-2, "elapsed")
        call.push(s.trainingSeconds); call.setRawField(-2, "train_seconds")
        call.push(s.stepSeconds); call.setRawField(-2, "step_seconds")
        if let stage = s.stage { call.push(stage); call.setRawField(-2, "stage") }
        lua_createtable(call.L, 0, Int32(s.eval.count))
        for (k, v) in s.eval { call.push(v); call.setRawField(-2, k) }
        call.setRawField(-2, "eval")
    }

    private static func train(_ call: LuaCall) throws -> Int {
        let L = call.L
        let o = try LuaOptions(call, 1, valid: trainKeys, context: "ap.train")
        guard let optionsIndex = o.index else { throw LuaBindingError("ap.train: expects an options table {model=, data=, ...}") }
        guard let moduleBox = try o.value("model", { _ in LuaHost.object(L, -1, ModuleBox.self) }) ?? nil else {
            throw LuaBindingError("ap.train: model = a Module is required")
        }
        guard o.has("data") else { throw LuaBindingError("ap.train: data = a Dataset is required") }
        let data = try o.value("data") { _ in try dataset(call, -1, key: "data") }!
        let evalData = try o.value("eval") { _ in try dataset(call, -1, key: "eval") }
        guard let batch = try o.integer("batch") else { throw LuaBindingError("ap.train: batch = batch size is required") }

        var config = Trainer.Configuration(model: moduleBox.module, data: data, evalData: evalData, batchSize: batch,
                                           epochs: try o.integer("epochs"), steps: try o.integer("steps"))
        if config.epochs == nil && config.steps == nil { throw LuaBindingError("ap.train: give epochs = or steps =") }
        config.gradientAccumulation = try o.integer("grad_accum") ?? 1
        config.clipGradientNorm = try o.float("clip_grad")
        config.emaDecays = try o.numbers("ema")?.map(Float.init) ?? []
        config.evaluateWithEMA = try o.boolean("eval_ema") ?? false
        config.emaWarmup = try o.boolean("ema_warmup") ?? false ? EMA.Warmup() : nil
        config.evaluateAtStageStart = try o.boolean("eval_on_stage") ?? false
        config.labelSmoothing = try o.float("label_smoothing") ?? 0
        config.evalEverySteps = try o.integer("eval_every")
        config.evalBatchSize = try o.integer("eval_batch")
        config.checkpointEverySteps = try o.integer("checkpoint_every")
        config.keepLastCheckpoints = try o.integer("keep_last") ?? 3
        config.logEverySteps = try o.integer("log_every") ?? 1
        config.shuffle = try o.boolean("shuffle") ?? true
        config.sampleEverySteps = try o.integer("sample_every")
        if let every = config.sampleEverySteps, every <= 0 { throw LuaBindingError("ap.train: sample_every must be positive, got \(every)") }
        if config.sampleEverySteps != nil, !o.has("sample") {
            throw LuaBindingError("ap.train: sample_every needs sample = function(model, state) returning images")
        }
        config.augmentation = try o.value("augment") { _ in try LuaState.augmentation(call, -1, data: data) }
        let controller = try o.value("progressive") { _ in try LuaState.progController(call, -1, model: moduleBox.module) }

        let optimizerBox = try o.value("optimizer") { _ -> OptimizerBox in
            guard let b = LuaHost.object(L, -1, OptimizerBox.self) else {
                throw LuaBindingError("ap.train: optimizer must be an optimizer (ap.optim.adamw{...}), got \(LuaCall.typeName(L, -1))")
            }
            return b
        } ?? OptimizerBox(kind: "adamw", settings: OptimizerSettings())
        let scheduleBox = try o.value("lr_schedule") { _ -> ScheduleBox in
            guard let b = LuaHost.object(L, -1, ScheduleBox.self) else {
                throw LuaBindingError("ap.train: lr_schedule must be a schedule (ap.sched.cosine{...}), got \(LuaCall.typeName(L, -1))")
            }
            return b
        }

        // Lua callbacks live in the registry for the run's duration.
        var refs: [String: Int32] = [:]
        for key in hookKeys where call.rawField(optionsIndex, key) != LUA_TNIL {
            guard lua_type(L, -1) == LUA_TFUNCTION else {
                let got = LuaCall.typeName(L, -1)
                lua_settop(L, -2)
                throw LuaBindingError("ap.train: \(key) must be a function, got \(got)")
            }
            refs[key] = luaL_ref(L, ap_lua_registry_index())
        }
        defer { for r in refs.values { luaL_unref(L, ap_lua_registry_index(), r) } }

        let session = call.state.session
        let trainer = try Trainer(config, makeOptimizer: { model in
            try optimizerBox.bind(model: model, parameters: model.parameters)
            return try optimizerBox.bound("ap.train")
        }, run: session?.run)
        trainer.controller = controller
        trainer.schedule = try scheduleBox?.resolve(defaultLearningRate: trainer.optimizer.learningRate,
                                                    defaultTotalSteps: trainer.state.totalSteps)

        func callHook(_ key: String, _ push: () throws -> Int32) throws {
            guard let ref = refs[key] else { return }
            lua_rawgeti(L, ap_lua_registry_index(), lua_Integer(ref))
            let n = try push()
            try call.protectedCall(arguments: n, results: 0)
        }
        trainer.onStep = { s in try callHook("on_step") { pushState(call, s); return 1 } }
        trainer.onEpoch = { s in try callHook("on_epoch") { pushState(call, s); return 1 } }
        trainer.onEval = { s in try callHook("on_eval") { pushState(call, s); return 1 } }
        trainer.onStage = { s in try callHook("on_stage") { pushState(call, s); return 1 } }
        trainer.onCheckpoint = { s, url in
            try callHook("on_checkpoint") { pushState(call, s); call.push(url.path); return 2 }
        }
        if let ref = refs["sample"] {
            trainer.sampler = { s in
                lua_rawgeti(L, ap_lua_registry_index(), lua_Integer(ref))
                call.push(object: moduleBox)
                pushState(call, s)
                try call.protectedCall(arguments: 2, results: 1)
                defer { lua_settop(L, -2) }
                guard let t = LuaHost.object(L, -1, TensorBox.self) else {
                    throw LuaBindingError("ap.train: sample must return a Tensor of images, got \(LuaCall.typeName(L, -1))")
                }
                return t.tensor()
            }
            trainer.onSamples = { _, url, png in call.state.imageSavedHook?(url, png) }
        }
        if let ref = refs["loss"] {
            trainer.lossFunction = { model, batch in
                lua_rawgeti(L, ap_lua_registry_index(), lua_Integer(ref))
                call.push(object: model === moduleBox.module ? moduleBox : ModuleBox(model))
                lua_createtable(L, 0, 3)
                call.push(batch.images); call.setRawField(-2, "images")
                call.push(integers: batch.labels.map { $0 + 1 }); call.setRawField(-2, "labels")
                call.push(integers: batch.indices.map { $0 + 1 }); call.setRawField(-2, "indices")
                try call.protectedCall(arguments: 2, results: 1)
                defer { lua_settop(L, -2) }
                guard let t = LuaHost.object(L, -1, TensorBox.self) else {
                    throw LuaBindingError("ap.train: loss must return a Tensor, got \(LuaCall.typeName(L, -1))")
                }
                return t.tensor()
            }
        }

        let runBox = RunBox(trainer)
        // The live objects the REPL and attached clients see.
        call.push(object: runBox); call.state.setGlobal("run")
        call.push(object: moduleBox); call.state.setGlobal("model")
        call.push(object: optimizerBox); call.state.setGlobal("opt")
        call.rawField(optionsIndex, "data"); call.state.setGlobal("data")

        if let session {
            try session.writeConfig(options: call.state.resolvedOptions)
            if let checkpoint = session.resumeCheckpoint {
                try trainer.resume(from: checkpoint)
                FileHandle.standardError.write(Data("resumed from \(checkpoint.path) at step \(trainer.state.step)\n".utf8))
            }
            trainer.progress = ProgressBar(total: trainer.state.totalSteps, isTerminal: session.isTerminal)
            trainer.tensorBoard = session.tensorBoard
            let previousOnStep = trainer.onStep
            trainer.onStep = { s in
                session.currentStep = s.step
                try previousOnStep?(s)
            }
            if let console = session.console {
                var globals = ["run", "model", "opt", "data"]
                // Progressive fine-tuning: its controller is the REPL's `controller`.
                if let fineTune = trainer.controller as? FineTuneController {
                    call.push(object: FineTuneControllerBox(fineTune, trainer: trainer))
                    call.state.setGlobal("controller")
                    globals.append("controller")
                }
                console.bindGlobals(globals)
                // While an AutoProg search trains its supernet, the REPL sees it as `supernet`.
                var bound: Supernet?
                trainer.onStepBoundary = { t in
                    let search = t.controller as? AutoProgController
                    if search?.supernet !== bound {
                        bound = search?.supernet
                        if let bound { call.push(object: SupernetBox(bound, controller: search, trainer: t)) } else { call.pushNil() }
                        call.state.setGlobal("supernet")
                        console.bindGlobals(bound == nil ? globals : globals + ["supernet"])
                    }
                    return console.atStepBoundary("step \(t.state.step)/\(t.state.totalSteps), epoch \(t.state.epoch)") == .stop ? .stop : .proceed
                }
            }
            try Interrupts.withTrainingInterrupts { _ = try trainer.train() }
            try session.notebook.write(to: session.run.notebookURL)
        } else {
            try trainer.train()
        }
        call.push(object: runBox)
        return 1
    }
}
