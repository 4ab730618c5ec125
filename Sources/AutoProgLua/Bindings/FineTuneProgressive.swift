import AutoProg
import CLua
import Foundation

extension LuaState {
    static let fineTuneKeys = ["schedule", "stages", "space", "order", "diffusion", "ntk_samples", "zico_batches", "timing_steps",
                               "search_steps", "alpha", "last_full_model"]

    /// `progressive = {schedule = "autoprog-zero" | "prog" | "autoprog-one", stages = 4,
    /// space = 0.25, order = "interleaved" | "output-first" | "input-first", diffusion = d,
    /// ntk_samples = 8, zico_batches = 2, timing_steps = 5, search_steps = (a quarter of the
    /// stage), alpha = "fit" | α, last_full_model = true}` for a DiT: progressive
    /// fine-tuning (`FineTuneController`). `space` is s₁, as for pre-training: the stages'
    /// resolutions are linspace(s₁, 1, stages) of the full size.
    static func fineTuneController(_ call: LuaCall, _ i: Int32, model: DiT) throws -> FineTuneController {
        let context = "ap.train progressive (fine-tuning)"
        let o = try LuaOptions(call, i, valid: fineTuneKeys, context: context)
        let name = try o.string("schedule") ?? "autoprog-zero"
        guard let schedule = FineTuneController.Schedule(rawValue: name) else {
            throw LuaBindingError("\(context): unknown schedule '\(name)' (\(FineTuneController.Schedule.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        let orderName = try o.string("order") ?? UnfreezeOrder.interleaved.rawValue
        guard let order = UnfreezeOrder(rawValue: orderName) else {
            throw LuaBindingError("\(context): unknown order '\(orderName)' (\(UnfreezeOrder.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        let diffusion = try o.value("diffusion") { _ -> GaussianDiffusion in
            guard let box = LuaHost.object(call.L, -1, DiffusionBox.self) else {
                throw LuaBindingError("\(context): diffusion must be a Diffusion (ap.diffusion{...}), got \(LuaCall.typeName(call.L, -1))")
            }
            return box.diffusion
        } ?? GaussianDiffusion(.linear, steps: 1000)
        let controller = try FineTuneController(model: model, schedule: schedule, stages: try o.integer("stages") ?? 4,
                                                order: order, smallestResolutionRatio: try o.number("space") ?? 0.25,
                                                diffusion: diffusion)
        func positive(_ key: String) throws -> Int? {
            guard let n = try o.integer(key) else { return nil }
            guard n > 0 else { throw LuaBindingError("\(context): \(key) must be positive, not \(n)") }
            return n
        }
        let zeroKeys = ["ntk_samples", "zico_batches", "timing_steps"], oneKeys = ["search_steps", "alpha"]
        if schedule != .autoprogZero, let key = zeroKeys.first(where: o.has) {
            throw LuaBindingError("\(context): '\(key)' is an option of schedule = \"autoprog-zero\"")
        }
        if schedule != .autoprogOne, let key = oneKeys.first(where: o.has) {
            throw LuaBindingError("\(context): '\(key)' is an option of schedule = \"autoprog-one\"")
        }
        if let n = try positive("ntk_samples") { controller.ntkSamples = n }
        if let n = try positive("zico_batches") {
            guard n >= 2 else { throw LuaBindingError("\(context): zico_batches must be at least 2 (ZiCo needs a spread across batches)") }
            controller.zicoBatches = n
        }
        if let n = try positive("timing_steps") { controller.timingSteps = n }
        if let n = try positive("search_steps") { controller.searchSteps = n }
        controller.alpha = try o.value("alpha") { type -> Double? in
            if type == LUA_TSTRING, String(cString: lua_tolstring(call.L, -1, nil)) == "fit" { return nil }
            guard type == LUA_TNUMBER, lua_tonumberx(call.L, -1, nil) >= 0 else {
                throw LuaBindingError("\(context): alpha must be \"fit\" or a number ≥ 0")
            }
            return lua_tonumberx(call.L, -1, nil)
        } ?? nil
        controller.lastStageIsFullModel = try o.boolean("last_full_model") ?? true
        return controller
    }
}
