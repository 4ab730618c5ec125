import Testing
@testable import AutoProgLua

/// `ap.supernet{...}` from Lua: Λ₁ by default, growth in place, set/sample/extract.
@Suite struct SupernetBindingTests {
    @Test func supernetFromLua() throws {
        let lua = LuaState()
        try lua.run("""
            ap.manual_seed(2)
            -- grid 4, depth 4: Ω(0.5) of 2 stages has grids {2, 4} and depths {2, 4}.
            local m = ap.models.vit{ image = 8, patch = 2, channels = 1, classes = 3, dim = 8, depth = 4, heads = 2 }
            local before = m.blocks[2].mlp.fc1.weight:clone()
            local s = ap.supernet{ model = m, stages = 2, space = 0.5 }
            local c = s:candidates()
            assert(#c == 4 and c[1].grid == 2 and c[1].depth == 2 and c[4].grid == 4 and c[4].depth == 4)
            assert(s.base_depth == 2 and s.largest.depth == 4 and not s.searching)
            -- 2 → 4 by interpolation: [0, 0, 1, 1]; block 4 (1-based) copies block 2.
            assert((m.blocks[4].mlp.fc1.weight - before):abs():max():item() == 0)
            -- Depth 2 runs the originals (blocks 1 and 3, 1-based); its extracted model
            -- computes what the supernet computes running it.
            s:set(2, 2)
            assert(s.active.grid == 2 and s.active.depth == 2)
            local sub = s:extract(1)
            assert(#sub.blocks == 2)
            assert((sub.blocks[2].mlp.fc1.weight - m.blocks[3].mlp.fc1.weight):abs():max():item() == 0)
            local x = ap.randn(2, 1, 8, 8)
            m:evaluate(); sub:evaluate()
            assert((sub(x) - m(x)):abs():max():item() == 0)
            -- Sampling draws candidates from the supernet's own seeded stream.
            local seen = {}
            for i = 1, 20 do local d = s:sample(); seen[d.grid .. "x" .. d.depth] = true end
            local n = 0
            for _ in pairs(seen) do n = n + 1 end
            assert(n > 1 and n <= 4)
            local t = ap.supernet{ model = m, candidates = { { grid = 4, depth = 3 }, { 4, 4 } }, depth = 2, grow = false, seed = 7 }
            assert(#t:candidates() == 2 and t.largest.depth == 4)
            """, chunkName: "=supernet.lua")
    }

    @Test func badSupernetsAreErrors() {
        let lua = LuaState()
        let model = "local m = ap.models.vit{ image = 8, patch = 2, channels = 1, classes = 3, dim = 8, depth = 4, heads = 2 }\n"
        #expect { try lua.run(model + "ap.supernet{ model = m, candidates = { { grid = 9, depth = 4 } } }", chunkName: "=s.lua") } throws: {
            "\($0)".contains("does not fit")
        }
        #expect { try lua.run(model + "ap.supernet{ model = m, candidates = { { grid = 4, depth = 4 } }, stages = 3 }", chunkName: "=s.lua") } throws: {
            "\($0)".contains("not both")
        }
        #expect { try lua.run(model + "local s = ap.supernet{ model = m, stages = 2 }\ns:choose(1)", chunkName: "=s.lua") } throws: {
            "\($0)".contains("no search is running")
        }
        #expect { try lua.run(model + "local s = ap.supernet{ model = m, stages = 2 }\ns:set(4, 1)", chunkName: "=s.lua") } throws: {
            "\($0)".contains("outside the supernet")
        }
        #expect { try lua.run(model + "ap.supernet{ model = m, stages = 1 }\nap.supernet{ model = m, space = 2 }", chunkName: "=s.lua") } throws: {
            "\($0)".contains("smallest ratio")
        }
    }
}
