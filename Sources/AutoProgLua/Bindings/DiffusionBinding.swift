import AutoProg
import CLua
import CLuaBridge
import Foundation

/// A Gaussian diffusion process as Lua holds it (`local d = ap.diffusion{...}`).
final class DiffusionBox: LuaHostObject {
    static let luaTypeName = "autoprog.Diffusion"
    let diffusion: GaussianDiffusion
    init(_ diffusion: GaussianDiffusion) { self.diffusion = diffusion }
}

/// `ap.diffusion{...}` (the process: q_sample, the training loss, sampling) and
/// `ap.sample{...}`. Images are in [−1, 1] throughout: `d:from_unit(x)` maps a dataset's
/// [0, 1] images in, `d:to_unit(x)` maps samples out for `ap.image.save`/`grid`.
/// Class labels are 1-based (the null class of a model with K classes is K + 1);
/// timesteps are the process's step numbers 0..T−1, as in the papers.
extension LuaState {
    static let diffusionKeys = ["schedule", "steps", "learn_sigma", "sigma_small", "spacing", "schedule_size"]
    static let sampleKeys = ["model", "sampler", "steps", "eta", "cfg", "classes", "n", "seed", "size", "clip", "batch", "progress"]

    func installDiffusion(_ ap: Int32) {
        documentation["Diffusion"] = "A Gaussian diffusion process over images in [-1, 1]: d:q_sample, d:loss, d:sample, d:from_unit, d:to_unit; fields steps, schedule, variance, timestep_map, schedule_size and the schedule arrays (betas, alphas_cumprod, ... as tables, entry t+1 for step t)."
        defineType(DiffusionBox.self, methods: diffusionMethods, metamethods: [], getter: LuaState.diffusionField,
                   tostring: LuaState.describeDiffusion)
        register([
            LuaBinding("diffusion", "ap.diffusion{schedule=\"linear\"|\"cosine\", steps=1000, learn_sigma=(default: follow the model), sigma_small=false, spacing=, schedule_size=}: a Gaussian diffusion process (DiT/ADM) over images in [-1, 1]; spacing (\"50\", \"ddim50\", \"10,20\") respaces it; schedule_size = n: the schedule is for n×n images, images of side m train and sample with the signal-to-noise ratio scaled by (n/m)² (simple diffusion's resolution shift; default: every size alike).") { call in
                call.push(object: DiffusionBox(try LuaState.makeDiffusion(call, 1)))
                return 1
            },
            LuaBinding("sample", "ap.sample{model=, diffusion=(default linear 1000), sampler=\"ddim\"|\"ddpm\", steps=50 (or a spacing such as \"ddim50\"), eta=0, cfg=1, classes={1-based labels}, n=, seed=(the run's), size=, clip=true, batch=32, progress=function(done, total) | true}: images [N, C, H, W] in [-1, 1] (d:to_unit maps them to [0, 1]).") { call in
                try LuaState.sample(call, options: 1, diffusion: nil)
            },
        ], in: ap, path: "ap")
    }

    private var diffusionMethods: [LuaBinding] {
        [
            LuaBinding("q_sample", "d:q_sample(x0, t[, noise]): √ᾱ_t·x0 + √(1-ᾱ_t)·noise for x0 [B, C, H, W]; t a step number (0..T-1) or one per image (table or tensor); noise defaults to N(0, 1) from the noise stream.") { call in
                let d = try call.object(1, DiffusionBox.self).diffusion
                let x0 = try call.tensor(2)
                let t = try LuaState.timesteps(call, 3, count: x0.shape.first ?? 0)
                let noise = try call.optionalTensor(4) ?? Tensor.randn(x0.shape, purpose: .noise)
                call.push(try d.qSample(x0, timesteps: t, noise: noise))
                return 1
            },
            LuaBinding("loss", "d:loss(model, x0[, labels]): the training loss (scalar tensor with autograd) of a denoiser on images x0 in [-1, 1], labels 1-based; steps and noise from the noise stream. Second result: {mse=, vb=, timesteps=} (batch means, numbers).") { call in
                let d = try call.object(1, DiffusionBox.self).diffusion
                let model = try LuaState.denoiser(call, 2, context: "d:loss")
                let x0 = try call.tensor(3)
                let labels = try LuaState.labels(call, 4, context: "d:loss")
                let terms = try d.trainingLosses(model: model, x0: x0, labels: labels)
                call.push(terms.loss)
                lua_createtable(call.L, 0, 3)
                call.push(try terms.mse.mean().item()); call.setRawField(-2, "mse")
                if let vb = terms.vb { call.push(try vb.mean().item()); call.setRawField(-2, "vb") }
                call.push(integers: terms.timesteps); call.setRawField(-2, "timesteps")
                return 2
            },
            LuaBinding("sample", "d:sample{model=, sampler=\"ddim\"|\"ddpm\", steps=50, eta=0, cfg=1, classes=, n=, seed=, size=, clip=true, batch=32, progress=}: images [N, C, H, W] in [-1, 1] (see ap.sample).") { call in
                let d = try call.object(1, DiffusionBox.self).diffusion
                return try LuaState.sample(call, options: 2, diffusion: d)
            },
            LuaBinding("from_unit", "d:from_unit(x): [0, 1] images → [-1, 1] (x*2-1), for training on a dataset's images.") { call in
                call.push(try DiffusionImageRange.toModel(try call.tensor(2)))
                return 1
            },
            LuaBinding("to_unit", "d:to_unit(x): [-1, 1] samples → [0, 1] ((x+1)/2, clamped), for ap.image.save and ap.image.grid.") { call in
                call.push(try DiffusionImageRange.toUnit(try call.tensor(2)))
                return 1
            },
        ]
    }

    static func makeDiffusion(_ call: LuaCall, _ i: Int32) throws -> GaussianDiffusion {
        let o = try LuaOptions(call, i, valid: diffusionKeys, context: "ap.diffusion")
        let kind = try NoiseSchedule.Kind.named(try o.string("schedule") ?? "linear")
        let steps = try o.integer("steps") ?? 1000
        guard steps > 0 else { throw LuaBindingError("ap.diffusion: steps must be positive, got \(steps)") }
        let small = try o.boolean("sigma_small") ?? false
        let variance: GaussianDiffusion.Variance?
        switch try o.boolean("learn_sigma") {
        case true?:
            guard !small else { throw LuaBindingError("ap.diffusion: learn_sigma = true and sigma_small = true exclude each other") }
            variance = .learnedRange
        case false?: variance = small ? .fixedSmall : .fixedLarge
        case nil: variance = small ? .fixedSmall : nil
        }
        let side = try o.integer("schedule_size")
        if let side, side <= 0 { throw LuaBindingError("ap.diffusion: schedule_size must be a positive image side, got \(side)") }
        var d = try GaussianDiffusion(kind, steps: steps, variance: variance, scheduleSide: side)
        if let spacing = try o.string("spacing") { d = try d.respaced(spacing) }
        return d
    }

    static func describeDiffusion(_ box: DiffusionBox) -> String {
        let d = box.diffusion
        let spaced = d.stepCount == d.originalStepCount ? "" : " (respaced from \(d.originalStepCount))"
        let sized = d.scheduleSide.map { " for \($0)x\($0) images" } ?? ""
        return "Diffusion \(d.scheduleKind?.rawValue ?? "custom") \(d.stepCount) steps\(spaced)\(sized) variance=\(d.variance?.rawValue ?? "model's")"
    }

    static func diffusionField(_ call: LuaCall) throws -> Int {
        let d = try call.object(1, DiffusionBox.self).diffusion
        guard call.type(2) == LUA_TSTRING else { return 0 }
        let s = d.schedule
        let arrays: [String: [Double]] = [
            "betas": s.betas, "alphas_cumprod": s.alphasCumprod, "alphas_cumprod_prev": s.alphasCumprodPrev,
            "alphas_cumprod_next": s.alphasCumprodNext, "sqrt_alphas_cumprod": s.sqrtAlphasCumprod,
            "sqrt_one_minus_alphas_cumprod": s.sqrtOneMinusAlphasCumprod,
            "log_one_minus_alphas_cumprod": s.logOneMinusAlphasCumprod, "sqrt_recip_alphas_cumprod": s.sqrtRecipAlphasCumprod,
            "sqrt_recipm1_alphas_cumprod": s.sqrtRecipm1AlphasCumprod, "posterior_variance": s.posteriorVariance,
            "posterior_log_variance_clipped": s.posteriorLogVarianceClipped,
            "posterior_mean_coef1": s.posteriorMeanCoef1, "posterior_mean_coef2": s.posteriorMeanCoef2,
        ]
        let key = try call.string(2)
        switch key {
        case "steps": call.push(d.stepCount)
        case "original_steps": call.push(d.originalStepCount)
        case "schedule": if let k = d.scheduleKind { call.push(k.rawValue) } else { call.pushNil() }
        case "variance": if let v = d.variance { call.push(v.rawValue) } else { call.pushNil() }
        case "timestep_map": call.push(integers: d.timestepMap)
        case "schedule_size": if let side = d.scheduleSide { call.push(side) } else { call.pushNil() }
        default:
            guard let values = arrays[key] else { return 0 }
            call.push(sequence: values)
        }
        return 1
    }

    // MARK: Arguments

    /// The module at `i` as a denoiser, or a clear error.
    static func denoiser(_ call: LuaCall, _ i: Int32, context: String) throws -> any Denoiser {
        guard let box = LuaHost.object(call.L, i, ModuleBox.self) else {
            throw LuaBindingError("\(context): model must be a denoising network (a Module such as a DiT), got \(LuaCall.typeName(call.L, i))")
        }
        guard let model = box.module as? any Denoiser else {
            throw LuaBindingError("\(context): model \(box.module.typeName) is not a denoising network (it does not predict noise from (x, t, y); use a DiT)")
        }
        return model
    }

    /// 1-based labels (a table) as 0-based ones; nil when absent.
    static func labels(_ call: LuaCall, _ i: Int32, context: String) throws -> [Int]? {
        guard !call.isNoneOrNil(i) else { return nil }
        guard call.type(i) == LUA_TTABLE else {
            throw LuaBindingError("\(context): labels must be a table of 1-based class numbers, got \(call.typeName(i))")
        }
        return try call.integers(ofTable: i).map { $0 - 1 }
    }

    /// One step number, or one per image from a table or a tensor.
    static func timesteps(_ call: LuaCall, _ i: Int32, count: Int) throws -> [Int] {
        func integral(_ v: Double, _ k: Int?) throws -> Int {
            guard v.rounded() == v, Swift.abs(v) < 1e9 else {
                throw LuaBindingError("q_sample: timestep\(k.map { " \($0 + 1)" } ?? "") \(v) is not an integer step number")
            }
            return Int(v)
        }
        switch call.type(i) {
        case LUA_TNUMBER: return [Int](repeating: try integral(try call.number(i), nil), count: count)
        case LUA_TTABLE: return try call.numbers(ofTable: i).enumerated().map { try integral($1, $0) }
        default:
            guard LuaHost.object(call.L, i, TensorBox.self) != nil else {
                throw LuaBindingError("q_sample: t must be a step number, a table or a tensor of them, got \(call.typeName(i))")
            }
            return try call.tensor(i).toArray().enumerated().map { try integral(Double($1), $0) }
        }
    }

    // MARK: Sampling

    /// `ap.sample{...}` / `d:sample{...}`: every option is validated before the model is
    /// looked at, then the images are sampled in batches.
    static func sample(_ call: LuaCall, options i: Int32, diffusion given: GaussianDiffusion?) throws -> Int {
        let L = call.L
        let context = given == nil ? "ap.sample" : "d:sample"
        let o = try LuaOptions(call, i, valid: given == nil ? sampleKeys + ["diffusion"] : sampleKeys, context: context)
        guard o.index != nil else { throw LuaBindingError("\(context): expects an options table {model=, ...}") }
        let diffusion = try given ?? o.value("diffusion") { _ -> GaussianDiffusion in
            guard let box = LuaHost.object(L, -1, DiffusionBox.self) else {
                throw LuaBindingError("\(context): diffusion must be a Diffusion (ap.diffusion{...}), got \(LuaCall.typeName(L, -1))")
            }
            return box.diffusion
        } ?? GaussianDiffusion(.linear, steps: 1000)

        let eta = try o.float("eta") ?? 0
        let sampler = try SamplerKind.named(try o.string("sampler") ?? "ddim", eta: eta)
        if eta != 0, sampler == .ddpm { throw LuaBindingError("\(context): eta is a DDIM setting (sampler = \"ddim\")") }
        var options = SamplingOptions(sampler: sampler)
        options.spacing = try o.value("steps") { type -> String in
            if type == LUA_TSTRING { return String(cString: lua_tolstring(L, -1, nil)) }
            var ok: Int32 = 0
            let n = lua_tointegerx(L, -1, &ok)
            guard type == LUA_TNUMBER, ok != 0 else {
                throw LuaBindingError("\(context): steps must be a number of steps or a spacing such as \"ddim50\", got \(LuaCall.typeName(L, -1))")
            }
            guard n > 0 else { throw LuaBindingError("\(context): steps must be positive, got \(n)") }
            guard n <= diffusion.stepCount else {
                throw LuaBindingError("\(context): cannot sample in \(n) steps from a process of \(diffusion.stepCount) steps")
            }
            return String(n)
        } ?? String(Swift.min(50, diffusion.stepCount))
        _ = try TimestepRespacing.timesteps(options.spacing!, of: diffusion.stepCount)
        options.guidanceScale = try o.float("cfg") ?? 1
        options.clipDenoised = try o.boolean("clip") ?? true
        options.batchSize = try o.integer("batch") ?? 32
        if let seed = try o.integer("seed") {
            guard seed >= 0 else { throw LuaBindingError("\(context): seed must be ≥ 0, got \(seed)") }
            options.seed = UInt64(seed)
        } else {
            options.seed = Random.seed
        }
        try options.validateForLua(context)
        let classes = try o.value("classes") { _ in try LuaState.labels(call, -1, context: "\(context) classes") ?? [] }
        let n = try o.integer("n")
        if let n, n <= 0 { throw LuaBindingError("\(context): n must be positive, got \(n)") }
        if let classes, classes.isEmpty { throw LuaBindingError("\(context): classes is empty") }
        let size: (Int, Int)? = try o.value("size") { type -> (Int, Int) in
            let dims: [Int]
            if type == LUA_TTABLE { dims = try call.integers(ofTable: -1) } else {
                var ok: Int32 = 0
                let v = lua_tointegerx(L, -1, &ok)
                guard type == LUA_TNUMBER, ok != 0 else {
                    throw LuaBindingError("\(context): size must be an integer or {height, width}, got \(LuaCall.typeName(L, -1))")
                }
                dims = [Int(v), Int(v)]
            }
            guard dims.count == 2, dims.allSatisfy({ $0 > 0 }) else {
                throw LuaBindingError("\(context): size must be a positive integer or {height, width}, got \(dims)")
            }
            return (dims[0], dims[1])
        }
        var progressRef: Int32?
        _ = try o.value("progress") { type in
            switch type {
            case LUA_TFUNCTION:
                lua_pushvalue(L, -1)
                progressRef = luaL_ref(L, ap_lua_registry_index())
            case LUA_TBOOLEAN where lua_toboolean(L, -1) != 0:
                let terminal = call.state.session?.isTerminal ?? (isatty(STDERR_FILENO) != 0)
                var bar: ProgressBar?
                options.progress = { done, total in
                    if bar == nil { bar = ProgressBar(total: total, isTerminal: terminal) }
                    bar?.update(step: done, loss: nil, learningRate: nil, imagesPerSecond: nil, stage: "sampling")
                    if done == total { bar?.finish() }
                }
            case LUA_TBOOLEAN: break
            default:
                throw LuaBindingError("\(context): progress must be a function(done, total) or a boolean, got \(LuaCall.typeName(L, -1))")
            }
        }
        defer { if let r = progressRef { luaL_unref(L, ap_lua_registry_index(), r) } }
        if let ref = progressRef {
            options.progress = { done, total in
                lua_rawgeti(L, ap_lua_registry_index(), lua_Integer(ref))
                call.push(done)
                call.push(total)
                try call.protectedCall(arguments: 2, results: 0)
            }
        }

        // The model last, so option mistakes are reported even before a model exists.
        guard o.has("model") else { throw LuaBindingError("\(context): model = a denoising network is required") }
        let model = try o.value("model") { _ in try denoiser(call, -1, context: context) }!
        let labels: [Int]?
        let count: Int
        if let null = model.nullClass {
            if let classes {
                count = n ?? classes.count
                labels = (0..<count).map { classes[$0 % classes.count] }
            } else {
                guard let n else { throw LuaBindingError("\(context): give n = number of images or classes = {1-based labels}") }
                guard null > 0 else { throw LuaBindingError("\(context): the model has no classes to cycle through; give classes") }
                count = n
                labels = (0..<n).map { $0 % null }
            }
        } else {
            if classes != nil { throw LuaBindingError("\(context): the model is unconditional; it takes no classes") }
            guard let n else { throw LuaBindingError("\(context): give n = number of images") }
            count = n
            labels = nil
        }
        let (height, width): (Int, Int)
        if let size {
            (height, width) = size
        } else if let sized = model as? any FixedSizeDenoiser {
            (height, width) = (sized.inputSize, sized.inputSize)
        } else {
            throw LuaBindingError("\(context): give size = image side (the model does not fix its input size)")
        }
        call.push(try diffusion.sample(model: model, count: count, labels: labels, height: height, width: width, options: options))
        return 1
    }
}

private extension SamplingOptions {
    /// The engine's checks, reported with the Lua function's name.
    func validateForLua(_ context: String) throws {
        guard guidanceScale.isFinite, guidanceScale >= 0 else {
            throw LuaBindingError("\(context): cfg (guidance scale) must be ≥ 0, got \(guidanceScale)")
        }
        if case .ddim(let eta) = sampler, !(eta >= 0 && eta <= 1) {
            throw LuaBindingError("\(context): eta must be in [0, 1], got \(eta)")
        }
        guard batchSize > 0 else { throw LuaBindingError("\(context): batch must be positive, got \(batchSize)") }
    }
}
