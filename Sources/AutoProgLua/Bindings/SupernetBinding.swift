import AutoProg
import CLua
import Foundation

/// An elastic supernet as Lua holds it: made with `ap.supernet{...}`, or the one an
/// AutoProg-One search is training (the REPL's global `supernet`, bound to its controller
/// so candidates show their latest L and T, and a choice or α can be forced).
final class SupernetBox: LuaHostObject {
    static let luaTypeName = "autoprog.Supernet"
    let supernet: Supernet
    weak var controller: AutoProgController?
    weak var trainer: Trainer?
    var random: RandomStream

    init(_ supernet: Supernet, controller: AutoProgController? = nil, trainer: Trainer? = nil, seed: UInt64 = Random.seed) {
        self.supernet = supernet
        self.controller = controller
        self.trainer = trainer
        random = RandomStream(seed: seed, purpose: "autoprog.supernet.lua")
    }

    /// Bound to a search that is still running.
    var search: AutoProgController? {
        guard let controller, controller.supernet === supernet else { return nil }
        return controller
    }
}

extension LuaState {
    static let supernetKeys = ["model", "candidates", "space", "stages", "after", "depth", "grow", "ema", "seed"]

    func installSupernet(_ ap: Int32) {
        documentation["Supernet"] = "An elastic supernet: supernet:candidates(), supernet:measure(), supernet:sample(), supernet:set(n, l), supernet:evaluate(c, data), supernet:extract(c), supernet:choose(c), supernet.alpha."
        defineType(SupernetBox.self, methods: supernetMethods, metamethods: [supernetSetter], getter: { call in
            let box = try call.object(1, SupernetBox.self)
            guard call.type(2) == LUA_TSTRING else { return 0 }
            switch try call.string(2) {
            case "alpha":
                guard let c = box.search ?? box.controller else { call.pushNil(); return 1 }
                if let a = c.alpha { call.push(a) } else { call.push("fit") }
            case "largest": LuaState.push(call, box.supernet.largest)
            case "active": if let s = box.supernet.active { LuaState.push(call, s) } else { call.pushNil() }
            case "base_depth": call.push(box.supernet.baseDepth)
            case "searching": call.push(box.search != nil)
            case "end_step": if let e = box.search?.searchEnd { call.push(e) } else { call.pushNil() }
            default: return 0
            }
            return 1
        }, tostring: { box in
            let s = box.supernet
            return "Supernet \(s.candidates.count) candidates, depth \(s.baseDepth) grown to \(s.largest.depth), largest grid \(s.largest.grid)"
                + (box.search.map { " (searching until step \($0.searchEnd ?? 0))" } ?? "")
        })
        register([
            LuaBinding("supernet", "ap.supernet{model=, candidates={{grid=, depth=}, ...} | space=0.5, stages=4, after={grid=, depth=}, depth= (base depth, default the smallest candidate's), grow=true, ema=, seed=}: the elastic supernet of a ViT over the candidates (default Λ₁ of the growth space, or Λ after a stage that trained `after`); with grow, the model's first `depth` blocks are grown in place by interpolation (each EMA copy from itself).") { call in
                let o = try LuaOptions(call, 1, valid: LuaState.supernetKeys, context: "ap.supernet")
                guard let box = try o.value("model", { _ in LuaHost.object(call.L, -1, ModuleBox.self) }) ?? nil,
                      let vit = box.module as? VisionTransformer else {
                    throw LuaBindingError("ap.supernet: model = a ViT (ap.models.vit) is required")
                }
                let c = vit.configuration
                var candidates: [SubNetwork]
                if o.has("candidates") {
                    guard !o.has("space"), !o.has("after"), !o.has("stages") else {
                        throw LuaBindingError("ap.supernet: give candidates= or space=/stages=/after=, not both")
                    }
                    candidates = []
                    try o.value("candidates") { _ in
                        try call.forEachElement(ofTable: -1) { k in
                            candidates.append(try LuaState.subNetwork(call, -1, context: "ap.supernet candidate \(k + 1)"))
                        }
                    }
                } else {
                    let space = try GrowthSpace(stages: try o.integer("stages") ?? 4, smallestRatio: try o.float("space") ?? 0.5,
                                                fullGrid: c.gridSize, fullDepth: c.depth)
                    if let after = try o.value("after", { _ in try LuaState.subNetwork(call, -1, context: "ap.supernet after") }) {
                        candidates = try space.searchSpace(after: after)
                    } else {
                        candidates = space.firstSearchSpace()
                    }
                }
                let base = try o.integer("depth") ?? (candidates.map(\.depth).min() ?? 1)
                let supernet = try Supernet(model: vit, baseDepth: base, candidates: candidates)
                let ema = try o.value("ema") { _ in try call.object(-1, EMABox.self).ema }
                if try o.boolean("grow") ?? true { try supernet.grow(ema: ema) }
                try supernet.activate(supernet.largest)
                let seed = try o.integer("seed").map { UInt64(truncatingIfNeeded: $0) } ?? Random.seed
                call.push(object: SupernetBox(supernet, seed: seed))
                return 1
            },
        ], in: ap, path: "ap")
    }

    /// `{grid=, depth=}` (or `{n, l}`) at stack index `i`.
    static func subNetwork(_ call: LuaCall, _ i: Int32, context: String) throws -> SubNetwork {
        let L = call.L
        guard lua_type(L, i) == LUA_TTABLE else {
            throw LuaBindingError("\(context): a sub-network is {grid=, depth=}, got \(LuaCall.typeName(L, i))")
        }
        let t = lua_absindex(L, i)
        func field(_ key: String, _ position: Int) throws -> Int {
            var type = call.rawField(t, key)
            if type == LUA_TNIL {
                lua_settop(L, -2)
                type = lua_rawgeti(L, t, lua_Integer(position))
            }
            defer { lua_settop(L, -2) }
            var ok: Int32 = 0
            let v = lua_tointegerx(L, -1, &ok)
            guard type == LUA_TNUMBER, ok != 0 else { throw LuaBindingError("\(context): \(key) must be an integer") }
            return Int(v)
        }
        return SubNetwork(grid: try field("grid", 1), depth: try field("depth", 2))
    }

    /// A candidate argument: `{grid=, depth=}` or its 1-based position in `candidates()`.
    static func candidate(_ call: LuaCall, _ i: Int32, of supernet: Supernet, context: String) throws -> SubNetwork {
        if call.type(i) == LUA_TNUMBER {
            let k = try call.integer(i)
            guard supernet.candidates.indices.contains(k - 1) else {
                throw LuaBindingError("\(context): candidate \(k) is out of range 1...\(supernet.candidates.count)")
            }
            return supernet.candidates[k - 1]
        }
        return try subNetwork(call, i, context: context)
    }

    /// The candidates with their latest measurement (a search's own supernet only).
    static func pushCandidates(_ call: LuaCall, _ box: SupernetBox) throws -> Int {
        let measured = box.search?.measured ?? [:]
        lua_createtable(call.L, Int32(box.supernet.candidates.count), 0)
        for (k, s) in box.supernet.candidates.enumerated() {
            push(call, s)
            if let m = measured[s] {
                call.push(m.loss); call.setRawField(-2, "loss")
                call.push(m.stepSeconds * 1000); call.setRawField(-2, "step_ms")
                if let score = m.score { call.push(score); call.setRawField(-2, "score") }
            }
            lua_rawseti(call.L, -2, lua_Integer(k + 1))
        }
        return 1
    }

    static func push(_ call: LuaCall, _ s: SubNetwork) {
        lua_createtable(call.L, 0, 2)
        call.push(s.grid); call.setRawField(-2, "grid")
        call.push(s.depth); call.setRawField(-2, "depth")
    }

    private var supernetMethods: [LuaBinding] {
        [
            LuaBinding("candidates", "supernet:candidates(): the candidate sub-networks {grid=, depth=, loss=, step_ms=, score=} (L, T and score from the latest measurement, when there is one).") { call in
                try LuaState.pushCandidates(call, try call.object(1, SupernetBox.self))
            },
            LuaBinding("measure", "supernet:measure(): during a search, measures every candidate's L and T now (as the search will at its end) and scores them with the α in force; returns candidates().") { call in
                let box = try call.object(1, SupernetBox.self)
                guard let controller = box.search, let trainer = box.trainer else {
                    throw LuaBindingError("supernet:measure: no search is running on this supernet")
                }
                try controller.measureNow(trainer)
                lua_settop(call.L, 1)
                return try LuaState.pushCandidates(call, box)
            },
            LuaBinding("sample", "supernet:sample(): runs a uniformly drawn candidate (from the supernet's own seeded stream) and returns it.") { call in
                let box = try call.object(1, SupernetBox.self)
                let s = box.supernet.sample(&box.random)
                try box.supernet.activate(s)
                LuaState.push(call, s)
                return 1
            },
            LuaBinding("set", "supernet:set(n, l): runs the sub-network of patch grid n and depth l (the originals plus the l − base copies nearest the output).") { call in
                let box = try call.object(1, SupernetBox.self)
                try box.supernet.activate(SubNetwork(grid: try call.integer(2), depth: try call.integer(3)))
                return 0
            },
            LuaBinding("evaluate", "supernet:evaluate(candidate, data): {loss=, top1=, count=} of a candidate ({grid=, depth=} or its number) on data, in eval mode without augmentation (with the run's EMA weights during a search); the running sub-network is unchanged.") { call in
                let box = try call.object(1, SupernetBox.self)
                let s = try LuaState.candidate(call, 2, of: box.supernet, context: "supernet:evaluate")
                let data = try LuaState.dataset(call, 3, key: "data")
                let e: Evaluation
                if let controller = box.search, let trainer = box.trainer {
                    e = try controller.evaluate(s, on: data, trainer: trainer)
                } else {
                    e = try box.supernet.evaluate(s, on: data)
                }
                lua_createtable(call.L, 0, 3)
                call.push(e.loss); call.setRawField(-2, "loss")
                call.push(e.top1); call.setRawField(-2, "top1")
                call.push(e.count); call.setRawField(-2, "count")
                return 1
            },
            LuaBinding("extract", "supernet:extract(candidate): a standalone ViT of the candidate's depth whose blocks are exactly the ones it runs (weights copied), at its grid.") { call in
                let box = try call.object(1, SupernetBox.self)
                let s = try LuaState.candidate(call, 2, of: box.supernet, context: "supernet:extract")
                call.push(object: ModuleBox(try box.supernet.extract(s)))
                return 1
            },
            LuaBinding("choose", "supernet:choose(candidate): during a search, makes the candidate this stage's choice (all are still measured and recorded); choose(nil) undoes it.") { call in
                let box = try call.object(1, SupernetBox.self)
                guard let controller = box.search else { throw LuaBindingError("supernet:choose: no search is running on this supernet") }
                try controller.force(call.isNoneOrNil(2) ? nil : try LuaState.candidate(call, 2, of: box.supernet, context: "supernet:choose"))
                return 0
            },
        ]
    }

    private var supernetSetter: LuaBinding {
        LuaBinding("__newindex", "") { call in
            let box = try call.object(1, SupernetBox.self)
            guard call.type(2) == LUA_TSTRING, try call.string(2) == "alpha" else {
                throw LuaBindingError("cannot set field '\(call.type(2) == LUA_TSTRING ? try call.string(2) : call.typeName(2))' of a Supernet (settable: alpha)")
            }
            guard let controller = box.controller else { throw LuaBindingError("supernet.alpha: this supernet is not part of a search") }
            let fit = try call.type(3) == LUA_TSTRING && call.string(3) == "fit"
            if call.isNoneOrNil(3) || fit {
                try controller.setAlpha(nil)
            } else {
                try controller.setAlpha(try call.number(3))
            }
            return 0
        }
    }
}
