import AutoProg
import CLua

/// `ap.grow.<operator>(model, {depth=, patches=})`: the growth operators of progressive
/// ViT training as standalone units. Each returns a NEW model (the source is unchanged);
/// `patches` sets the grown model's patch grid side.
extension LuaState {
    func installGrow(_ ap: Int32) {
        pushSubtable(of: ap, "grow")
        documentation["ap.grow"] = "Growth operators: randinit, stacking, interpolation, identity (model, {depth=, patches=}) and mogrow(model, ema, {depth=, patches=, decay=1})."
        let plain: [(String, GrowthOperator, String)] = [
            ("randinit", .randInit, "keeps the blocks, adds freshly initialised ones on top"),
            ("stacking", .stacking, "block i copies block i mod l (progressive stacking)"),
            ("interpolation", .interpolation, "each block is repeated next to itself (DESIGN §5 mapping)"),
            ("identity", .identity, "interpolation with zero-initialised ReZero scalars on the copies: the function is unchanged"),
        ]
        register(plain.map { name, op, what in
            LuaBinding(name, "ap.grow.\(name)(model, {depth=, patches=}): a grown copy of a ViT; \(what).") { call in
                let vit = try LuaState.vit(call, 1)
                let o = try LuaOptions(call, 2, valid: ["depth", "patches"], context: "ap.grow.\(name)")
                let grown = try grow(vit, toDepth: try o.integer("depth") ?? vit.configuration.depth, operator: op)
                grown.activeGrid = try o.integer("patches")
                call.push(object: ModuleBox(grown))
                return 1
            }
        } + [
            LuaBinding("mogrow", "ap.grow.mogrow(model, ema, {depth=, patches=, decay=1}): MoGrow — the grown model comes from the momentum (EMA) copy, by interpolation.") { call in
                let vit = try LuaState.vit(call, 1)
                let ema = try call.object(2, EMABox.self).ema
                let o = try LuaOptions(call, 3, valid: ["depth", "patches", "decay"], context: "ap.grow.mogrow")
                let index = (try o.integer("decay") ?? 1) - 1
                guard ema.decays.indices.contains(index) else {
                    throw LuaBindingError("ap.grow.mogrow: decay \(index + 1) is not one of the EMA's \(ema.decays.count) averages")
                }
                let grown = try growFromMomentum(model: vit, ema: ema, decayIndex: index,
                                                 toDepth: try o.integer("depth") ?? vit.configuration.depth)
                grown.activeGrid = try o.integer("patches")
                call.push(object: ModuleBox(grown))
                return 1
            },
        ], in: -1, path: "ap.grow")
        lua_settop(L, -2)
    }

    static func vit(_ call: LuaCall, _ i: Int32) throws -> VisionTransformer {
        let module = try call.object(i, ModuleBox.self).module
        guard let vit = module as? VisionTransformer else {
            throw LuaBindingError("growth operators work on a ViT (ap.models.vit), not \(module.typeName)")
        }
        return vit
    }
}
