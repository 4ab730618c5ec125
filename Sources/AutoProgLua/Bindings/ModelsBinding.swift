import AutoProg
import CLua

/// `ap.models`: complete models by configuration table.
extension LuaState {
    func installModels(_ ap: Int32) {
        pushSubtable(of: ap, "models")
        documentation["ap.models"] = "Complete models: ap.models.vit{...}, ap.models.dit{...}."
        register([
            LuaBinding("vit", "ap.models.vit{preset=, image=224, patch=16, channels=3, classes=1000, dim=, depth=, heads=, mlp_ratio=4, drop_path=0}: a Vision Transformer in timm's layout; explicit keys override the preset (\(LuaState.vitPresetNames)).") { call in
                call.push(object: ModuleBox(try VisionTransformer(try LuaState.vitConfiguration(call, 1))))
                return 1
            },
            LuaBinding("dit", "ap.models.dit{preset=, image=32, patch=2, channels=4, classes=1000, dim=, depth=, heads=, mlp_ratio=4, class_dropout=0.1, learn_sigma=true}: a Diffusion Transformer (adaLN-Zero) in facebookresearch/DiT's layout; explicit keys override the preset (\(LuaState.ditPresetNames)). m:forward(x, t[, y]) predicts the noise; y holds 1-based classes, m.null_class (= classes + 1) is unconditional.") { call in
                call.push(object: ModuleBox(try DiT(try LuaState.ditConfiguration(call, 1))))
                return 1
            },
        ], in: -1, path: "ap.models")
        lua_settop(L, -2)
    }

    static var vitPresetNames: String {
        VisionTransformer.Configuration.presets.sorted { $0.value.dimension < $1.value.dimension }.map(\.key).joined(separator: ", ")
    }

    static let vitKeys = ["preset", "image", "patch", "channels", "classes", "dim", "depth", "heads", "mlp_ratio", "drop_path"]

    static func vitConfiguration(_ call: LuaCall, _ i: Int32) throws -> VisionTransformer.Configuration {
        try call.table(i)
        let o = try LuaOptions(call, i, valid: vitKeys, context: "ap.models.vit")
        var width: Int?, depth: Int?, heads: Int?
        if let name = try o.string("preset") {
            guard let p = VisionTransformer.Configuration.presets[name] else {
                throw LuaBindingError("ap.models.vit: unknown preset \"\(name)\" (valid: \(vitPresetNames))")
            }
            (width, depth, heads) = (p.dimension, p.depth, p.heads)
        }
        width = try o.integer("dim") ?? width
        depth = try o.integer("depth") ?? depth
        heads = try o.integer("heads") ?? heads
        guard let width, let depth, let heads else {
            throw LuaBindingError("ap.models.vit: give a preset (\(vitPresetNames)) or all of dim, depth and heads")
        }
        let c = VisionTransformer.Configuration(
            imageSize: try o.integer("image") ?? 224, patchSize: try o.integer("patch") ?? 16,
            channels: try o.integer("channels") ?? 3, classes: try o.integer("classes") ?? 1000,
            dimension: width, depth: depth, heads: heads, mlpRatio: try o.float("mlp_ratio") ?? 4,
            dropPath: try o.float("drop_path") ?? 0)
        let sizes = [("image", c.imageSize), ("patch", c.patchSize), ("channels", c.channels), ("classes", c.classes),
                     ("dim", c.dimension), ("depth", c.depth), ("heads", c.heads)]
        for (key, v) in sizes where v <= 0 {
            throw LuaBindingError("ap.models.vit: \(key) must be positive, got \(v)")
        }
        guard c.mlpRatio > 0, c.dropPath >= 0, c.dropPath < 1 else {
            throw LuaBindingError("ap.models.vit: need mlp_ratio > 0 and 0 ≤ drop_path < 1 (got \(c.mlpRatio), \(c.dropPath))")
        }
        return c
    }

    static var ditPresetNames: String {
        DiT.Configuration.presets.sorted { ($0.value.dimension, -$0.value.patchSize) < ($1.value.dimension, -$1.value.patchSize) }
            .map(\.key).joined(separator: ", ")
    }

    static let ditKeys = ["preset", "image", "patch", "channels", "classes", "dim", "depth", "heads", "mlp_ratio",
                          "class_dropout", "learn_sigma"]

    /// DiT's own defaults (`DiT(input_size=32, patch_size=2, in_channels=4, num_classes=1000)`)
    /// under a preset's width, depth, heads and patch, under explicit keys.
    static func ditConfiguration(_ call: LuaCall, _ i: Int32) throws -> DiT.Configuration {
        try call.table(i)
        let o = try LuaOptions(call, i, valid: ditKeys, context: "ap.models.dit")
        var width: Int?, depth: Int?, heads: Int?, patch = 2
        if let name = try o.string("preset") {
            guard let p = DiT.Configuration.presets[name] else {
                throw LuaBindingError("ap.models.dit: unknown preset \"\(name)\" (valid: \(ditPresetNames))")
            }
            (width, depth, heads, patch) = (p.dimension, p.depth, p.heads, p.patchSize)
        }
        width = try o.integer("dim") ?? width
        depth = try o.integer("depth") ?? depth
        heads = try o.integer("heads") ?? heads
        guard let width, let depth, let heads else {
            throw LuaBindingError("ap.models.dit: give a preset (\(ditPresetNames)) or all of dim, depth and heads")
        }
        let c = DiT.Configuration(
            imageSize: try o.integer("image") ?? 32, patchSize: try o.integer("patch") ?? patch,
            channels: try o.integer("channels") ?? 4, classes: try o.integer("classes") ?? 1000,
            dimension: width, depth: depth, heads: heads, mlpRatio: try o.float("mlp_ratio") ?? 4,
            classDropout: try o.float("class_dropout") ?? 0.1, learnSigma: try o.boolean("learn_sigma") ?? true)
        do {
            try c.validate()
        } catch let e as TensorError {
            throw LuaBindingError("ap.models.dit: \(e.message)")
        }
        return c
    }
}
