import Testing
@testable import AutoProgLua

@Suite struct GrowBindingTests {
    @Test func operatorsGrowACopy() throws {
        let lua = LuaState()
        try lua.run("""
            ap.manual_seed(1)
            local m = ap.models.vit{ image = 8, patch = 2, channels = 1, classes = 3, dim = 8, depth = 2, heads = 2 }
            local g = ap.grow.interpolation(m, { depth = 3 })
            assert(#g.blocks == 3 and #m.blocks == 2)
            -- 2→3 by interpolation is [0, 1, 1]: block 3 copies block 2 (1-based here).
            local a = g.blocks[3].attn.qkv.weight - m.blocks[2].attn.qkv.weight
            assert(a:abs():max():item() == 0)
            -- Identity growth leaves the function unchanged.
            local x = ap.randn(2, 1, 8, 8)
            local i = ap.grow.identity(m, { depth = 4 })
            m:evaluate(); i:evaluate()
            assert((i(x) - m(x)):abs():max():item() < 1e-5)
            local e = ap.ema(m, { 0.9 })
            local mo = ap.grow.mogrow(m, e, { depth = 4, patches = 3 })
            assert(#mo.blocks == 4)
            """, chunkName: "=grow.lua")
    }

    @Test func shrinkingOrANonViTIsAnError() {
        let lua = LuaState()
        #expect { try lua.run("local m = ap.models.vit{ image = 8, patch = 2, channels = 1, classes = 3, dim = 8, depth = 2, heads = 2 }\nap.grow.stacking(m, { depth = 1 })", chunkName: "=g.lua") } throws: {
            "\($0)".hasPrefix("g.lua:2:")
        }
        #expect { try lua.run("ap.grow.stacking(ap.nn.Linear(2, 2), { depth = 3 })", chunkName: "=g.lua") } throws: {
            "\($0)".contains("ViT")
        }
    }
}
