import AutoProg
import CLua
import Foundation

/// A progressive fine-tuning controller as the REPL sees it (the global `controller` while
/// `ap.train` runs with `progressive = {...}` on a DiT): its stage, the candidates with
/// their T/κ/ZiCo and ranks, re-measuring, and overriding the choice.
final class FineTuneControllerBox: LuaHostObject {
    static let luaTypeName = "autoprog.FineTuneController"
    let controller: FineTuneController
    weak var trainer: Trainer?

    init(_ controller: FineTuneController, trainer: Trainer?) {
        self.controller = controller
        self.trainer = trainer
    }
}

extension LuaState {
    func installFineTuneController() {
        documentation["FineTuneController"] = "Progressive fine-tuning (the REPL's `controller`): controller:candidates(), controller:measure(), controller:force{resolution=, fraction=}; fields stage, schedule, order, current, resolutions, fractions."
        defineType(FineTuneControllerBox.self, methods: fineTuneControllerMethods, metamethods: [], getter: { call in
            let c = try call.object(1, FineTuneControllerBox.self).controller
            guard call.type(2) == LUA_TSTRING else { return 0 }
            switch try call.string(2) {
            case "stage": call.push(c.stage + 1)
            case "schedule": call.push(c.schedule.rawValue)
            case "order": call.push(c.order.rawValue)
            case "current":
                guard let current = c.current else { call.pushNil(); return 1 }
                lua_createtable(call.L, 0, 2)
                call.push(c.levels.resolution(current)); call.setRawField(-2, "resolution")
                call.push(c.levels.fraction(current)); call.setRawField(-2, "fraction")
            case "resolutions": call.push(integers: c.levels.resolutions)
            case "fractions": call.push(sequence: c.levels.fractions)
            default: return 0
            }
            return 1
        }, tostring: { box in
            let c = box.controller
            return "FineTuneController \(c.schedule.rawValue), order \(c.order.rawValue), stage \(c.stage + 1)/\(c.levels.count)"
                + (c.current.map { ": " + c.levels.describe($0) } ?? "")
        })
    }

    /// The candidates as Lua tables {resolution=, fraction=, step_ms=, kappa=, zico=,
    /// ranks={time=, kappa=, zico=}, vote=, loss=, score=, learnable=}.
    static func pushFineTuneCandidates(_ call: LuaCall, _ entries: [FineTuneRecord.Candidate]) {
        lua_createtable(call.L, Int32(entries.count), 0)
        for (i, e) in entries.enumerated() {
            lua_createtable(call.L, 0, 10)
            call.push(e.resolution); call.setRawField(-2, "resolution")
            call.push(e.fraction); call.setRawField(-2, "fraction")
            call.push(e.learnableParameters); call.setRawField(-2, "learnable")
            call.push(e.stepSeconds * 1000); call.setRawField(-2, "step_ms")
            if let k = e.kappa { call.push(k); call.setRawField(-2, "kappa") }
            if let n = e.kappaNote { call.push(n); call.setRawField(-2, "kappa_note") }
            if let z = e.zico { call.push(z); call.setRawField(-2, "zico") }
            if let n = e.zicoNote { call.push(n); call.setRawField(-2, "zico_note") }
            if let l = e.loss { call.push(l); call.setRawField(-2, "loss") }
            if let s = e.score { call.push(s); call.setRawField(-2, "score") }
            if let v = e.vote { call.push(v); call.setRawField(-2, "vote") }
            if let r = e.ranks {
                lua_createtable(call.L, 0, 3)
                call.push(r.time); call.setRawField(-2, "time")
                call.push(r.kappa); call.setRawField(-2, "kappa")
                call.push(r.zico); call.setRawField(-2, "zico")
                call.setRawField(-2, "ranks")
            }
            lua_rawseti(call.L, -2, lua_Integer(i + 1))
        }
    }

    private var fineTuneControllerMethods: [LuaBinding] {
        [
            LuaBinding("candidates", "controller:candidates(): the candidates of the latest vote (or search) with their numbers: {resolution=, fraction=, learnable=, step_ms=, kappa=, zico=, ranks={time=, kappa=, zico=}, vote=} (AutoProg-Zero) or {..., loss=, score=} (AutoProg-One).") { call in
                LuaState.pushFineTuneCandidates(call, try call.object(1, FineTuneControllerBox.self).controller.measured)
                return 1
            },
            LuaBinding("measure", "controller:measure(): measures now the candidates the next stage would vote on (T, NTK κ, ZiCo; the weights are not changed; every candidate is timed again, and later votes reuse these times) and counts the vote; returns candidates() and the 1-based index of the winner.") { call in
                let box = try call.object(1, FineTuneControllerBox.self)
                guard let trainer = box.trainer else { throw LuaBindingError("controller:measure: the run has ended") }
                let c = box.controller
                let (entries, winner) = try c.vote(c.levels.candidates(after: c.current), trainer, retime: true)
                LuaState.pushFineTuneCandidates(call, entries)
                call.push(winner + 1)
                return 2
            },
            LuaBinding("force", "controller:force{resolution=, fraction=}: trains that sub-network from now to the end of the stage (recorded as forced in schedule.json); resolution and fraction must be levels of the run (see controller.resolutions, controller.fractions).") { call in
                let box = try call.object(1, FineTuneControllerBox.self)
                let c = box.controller
                let o = try LuaOptions(call, 2, valid: ["resolution", "fraction"], context: "controller:force")
                let current = c.current ?? c.levels.full
                var chosen = current
                if let r = try o.integer("resolution") {
                    guard let level = c.levels.resolutions.firstIndex(of: r) else {
                        throw LuaBindingError("controller:force: resolution \(r) is not a level (\(c.levels.resolutions.map(String.init).joined(separator: ", ")))")
                    }
                    chosen.resolutionLevel = level
                }
                if let f = try o.number("fraction") {
                    guard let level = c.levels.fractions.firstIndex(where: { abs($0 - f) < 1e-9 }) else {
                        throw LuaBindingError("controller:force: fraction \(f) is not a level (\(c.levels.fractions.map { String($0) }.joined(separator: ", ")))")
                    }
                    chosen.fractionLevel = level
                }
                try c.force(chosen, box.trainer)
                return 0
            },
        ]
    }
}
