import AutoProg
import Testing
@testable import AutoProgLua

@Suite struct TensorBindingTests {
    @Test func creation() throws {
        try LuaHarness().run("""
            local t = ap.tensor{{1, 2, 3}, {4, 5, 6}}
            assert(t:dim() == 2 and t:size(1) == 2 and t:size(2) == 3 and t:numel() == 6 and t:nElement() == 6)
            local s = t:size(); assert(#s == 2 and s[1] == 2 and s[2] == 3)
            assert(t.shape[2] == 3 and t:size(-1) == 3)
            local f = ap.tensor({1, 2, 3, 4, 5, 6}, {3, 2})
            assert(f:size(1) == 3 and f[3][2] == 6)
            assert(ap.tensor(2.5):dim() == 0 and ap.tensor(2.5):item() == 2.5)
            local c = ap.tensor(t); c[1] = 0; assert(t[1][1] == 1)          -- a copy
            assert(ap.tensor({}):numel() == 0)
            local z = ap.zeros(2, 3); assert(z:sum():item() == 0 and z:size(2) == 3)
            assert(ap.zeros{4}:numel() == 4)
            assert(ap.ones(2, 2):sum():item() == 4)
            assert(ap.full({2, 2}, 7):sum():item() == 28)
            assert(ap.full(3, 2, 0.5):sum():item() == 3)
            ap.manual_seed(1); local a = ap.randn(1000); ap.manual_seed(1); local b = ap.randn(1000)
            assert((a - b):abs():sum():item() == 0)
            assert(math.abs(a:mean():item()) < 0.15 and math.abs(a:var():item() - 1) < 0.15)
            local u = ap.rand(1000); assert(u:max():item() < 1 and (u:clamp(nil, 0)):sum():item() == 0)
            local r = ap.arange(5); assert(r:numel() == 5 and r[1] == 0 and r[5] == 4)
            local r2 = ap.arange(1, 2, 0.25); assert(r2:numel() == 4 and r2[4] == 1.75)
            local g = ap.zeros({2}, {requires_grad = true}); assert(g.requires_grad)
            local cat = ap.cat({ap.ones(2, 3), ap.zeros(1, 3)}); assert(cat:size(1) == 3 and cat:sum():item() == 6)
            local cat2 = ap.cat({ap.ones(2, 3), ap.zeros(2, 1)}, 2); assert(cat2:size(2) == 4)
            local st = ap.stack({ap.ones(3), ap.zeros(3)}); assert(st:size(1) == 2 and st:size(2) == 3)
            """)
    }

    @Test func creationErrors() throws {
        let h = LuaHarness()
        #expect(h.error("ap.tensor{{1, 2}, {3}}")?.message.contains("ragged nested table: element 2 has 1 entries, expected 2") == true)
        #expect(h.error("ap.tensor{1, 'x'}")?.message.contains("element 2 is a string") == true)
        #expect(h.error("ap.tensor({1, 2, 3}, {2, 2})")?.message.contains("reshape") == true)
        #expect(h.error("ap.zeros(2, -1)")?.message.contains("negative dimension") == true)
        #expect(h.error("ap.zeros({2}, {require_grad = true})")?.message.contains("unknown option 'require_grad' (valid: requires_grad)") == true)
        #expect(h.error("ap.arange(0, 1, 0)")?.message.contains("step must be non-zero") == true)
    }

    @Test func shapeMethodsAreOneBased() throws {
        try LuaHarness().run("""
            local t = ap.arange(24):view(2, 3, 4)
            assert(t:view(6, -1):size(2) == 4 and t:reshape{4, 6}:size(1) == 4)
            local p = t:permute(3, 1, 2); assert(p:size(1) == 4 and p:size(2) == 2 and p:size(3) == 3)
            local tr = t:transpose(1, 3); assert(tr:size(1) == 4 and tr:size(3) == 2)
            assert(tr[1][1][2] == 12)       -- tr[i][j][k] = t[k][j][i]
            local m = ap.arange(6):view(2, 3); assert(m:t():size(1) == 3 and m:t()[3][2] == 5)
            local n = t:narrow(3, 2, 2); assert(n:size(3) == 2 and n[1][1][1] == 1)
            assert(t:select(2, 3)[1][1] == 8)
            local sq = ap.zeros(1, 3, 1); assert(sq:squeeze():dim() == 1 and sq:squeeze(1):dim() == 2)
            assert(ap.zeros(3):unsqueeze(1):size(1) == 1 and ap.zeros(3):unsqueeze(-1):size(2) == 1)
            assert(t:flatten():numel() == 24 and t:flatten(2):size(2) == 12)
            assert(t:contiguous():size(3) == 4 and tr:contiguous()[1][1][2] == 12)
            assert(t:sum():item() == 276 and t:sum(1):size(1) == 3 and t:sum(3, true):size(3) == 1)
            assert(t:mean():item() == 11.5 and t:mean(-1)[1][1] == 1.5)
            local v, i = m:max(2); assert(v[1] == 2 and v[2] == 5 and i[1] == 3)
            assert(m:argmax(1)[1] == 2 and m:argmax() == 6 and m:max():item() == 5)
            local tab = m:totable(); assert(#tab == 2 and tab[2][3] == 5)
            """)
        let h = LuaHarness()
        #expect(h.error("ap.zeros(2, 3):sum(3)")?.message.contains("bad argument #1 to 'sum' (dim 3 is out of range for 2 dims (dims are 1-based; -1 is the last))") == true)
        #expect(h.error("ap.zeros(2, 3):size(0)")?.message.contains("dim 0 is out of range") == true)
        #expect(h.error("ap.zeros(2, 3):narrow(2, 3, 2)")?.message.contains("narrow: start 3, length 2 is out of range for dim 2 of size 3") == true)
        #expect(h.error("local x = ap.zeros(2)\nreturn x[3]")?.message.hasPrefix("test.lua:2: index 3 is out of range") == true)
    }

    @Test func elementwiseMathAndMetamethods() throws {
        try LuaHarness().run("""
            local a = ap.tensor{1, 2, 3}
            local b = ap.tensor{{10}, {20}}
            local s = a + b; assert(s:size(1) == 2 and s:size(2) == 3 and s[2][3] == 23)  -- broadcasting
            assert((a - 1)[1] == 0 and (1 - a)[3] == -2 and (a * 2)[2] == 4 and (2 * a)[2] == 4)
            assert((a / 2)[1] == 0.5 and (6 / a)[3] == 2 and (-a)[1] == -1 and (a ^ 2)[3] == 9)
            assert((a * a)[3] == 9 and (a / a)[2] == 1)
            assert(math.abs(a:exp()[1] - math.exp(1)) < 1e-5 and math.abs(a:log()[3] - math.log(3)) < 1e-6)
            assert(a:sqrt()[3] == math.sqrt(3) or math.abs(a:sqrt()[3] - math.sqrt(3)) < 1e-6)
            assert((-a):abs()[2] == 2 and a:pow(3)[2] == 8 and a:clamp(1.5, 2.5)[1] == 1.5 and a:clamp(1.5, 2.5)[3] == 2.5)
            local m = ap.tensor{{1, 2}, {3, 4}}
            local p = m:matmul(m); assert(p[1][1] == 7 and p[2][2] == 22)
            local sm = ap.tensor{{1, 2, 3}}:softmax(); assert(math.abs(sm:sum():item() - 1) < 1e-6)
            assert(math.abs(ap.tensor{{1, 2, 3}}:log_softmax():exp():sum():item() - 1) < 1e-6)
            assert(#a == 3 and #m == 2)
            assert(a == a and a ~= ap.tensor{1, 2, 3} and a ~= a:view(3, 1))
            """)
        let h = LuaHarness()
        let e = try #require(h.error("local a = ap.zeros(2, 3)\nlocal b = ap.zeros(4, 5)\nlocal c = a * b"))
        #expect(e.message.hasPrefix("test.lua:3: multiply:") || e.message.hasPrefix("test.lua:3: mul"))
        #expect(e.message.contains("[2, 3]") && e.message.contains("[4, 5]"))
        #expect(h.error("return ap.zeros(2) + 'x'")?.message.contains("bad argument #2 to '__add' (Tensor or number expected, got string)") == true)
        #expect(h.error("return ap.zeros(2, 3):matmul(ap.zeros(2, 3))")?.message.contains("[2, 3]") == true)
    }

    @Test func indexingAndInPlaceWrites() throws {
        try LuaHarness().run("""
            local t = ap.zeros(2, 3)
            t[1] = 5; assert(t[1][2] == 5 and t[2][1] == 0)
            t[2] = ap.tensor{1, 2, 3}; assert(t[2][3] == 3)
            t[-1] = ap.tensor{7}; assert(t[2][1] == 7 and t[2][3] == 7)   -- broadcast
            local row = t[1]; row[2] = 9; assert(t[1][2] == 9)            -- views share storage
            local v = ap.zeros(3); v[2] = 4; assert(v[2] == 4 and v[-1] == 0)
            local tr = ap.zeros(2, 3):t(); tr[1] = 1; assert(tr:sum():item() == 2)  -- strided writes
            assert(ap.ones(3):fill(2):sum():item() == 6 and ap.ones(3):zero():sum():item() == 0)
            local c = ap.zeros(2, 2):copy(ap.tensor{1, 2}); assert(c[2][2] == 2)
            assert(t:clone() ~= t and t:clone()[1][2] == 9)
            """)
        let h = LuaHarness()
        #expect(h.error("local t = ap.zeros(2)\nt.foo = 1")?.message.contains("cannot set field 'foo' of a Tensor") == true)
        #expect(h.error("ap.tensor(1)[1] = 2")?.message.contains("cannot index a 0-d tensor") == true)
    }

    @Test func autograd() throws {
        try LuaHarness().run("""
            local x = ap.tensor{1, 2, 3}:requires_grad()
            assert(x.requires_grad and x.is_leaf and x.grad == nil)
            local y = (x * x):sum()
            assert(y.requires_grad and not y.is_leaf)
            y:backward()
            local g = x.grad:totable(); assert(g[1] == 2 and g[2] == 4 and g[3] == 6)
            ((x * 3):sum()):backward()                      -- accumulates
            assert(x.grad[1] == 5)
            x:zero_grad(); assert(x.grad == nil)
            local w = ap.tensor({{1, 2}, {3, 4}}, {requires_grad = true})
            local out = w:matmul(ap.tensor{{1}, {1}})
            out:backward(ap.tensor{{1}, {2}})
            assert(w.grad[2][1] == 2 and w.grad[1][2] == 1)
            local z = ap.no_grad(function() return x * 2 end)
            assert(not z.requires_grad and ap.is_grad_enabled())
            local a, b = ap.no_grad(function(p, q) assert(not ap.is_grad_enabled()); return p, q end, 1, 2)
            assert(a == 1 and b == 2)
            local d = x:detach(); assert(not d.requires_grad)
            x.requires_grad = false; assert(not x.requires_grad)
            x:requires_grad_(); assert(x.requires_grad)
            x:requires_grad(false); assert(not x.requires_grad)
            local ok, err = pcall(function() local b = true; b() end)
            assert(not ok and err:find('attempt to call a boolean value'), err)
            """)
        let h = LuaHarness()
        #expect(h.error("ap.zeros(2):sum():backward()")?.message.contains("backward: tensor of shape [] does not require gradients") == true)
        #expect(h.error("ap.zeros({2}, {requires_grad = true}):backward()")?.message.contains("is not a scalar") == true)
    }

    @Test func garbageCollectionKeepsTensorMemoryBounded() throws {
        let h = LuaHarness()
        try h.run("collectgarbage(); collectgarbage()")
        let baseline = BufferPool.shared.statistics.liveBytes
        BufferPool.shared.resetPeak()
        // 10k iterations each making two 16 KB tensors: 320 MB if nothing were collected.
        try h.run("for i = 1, 10000 do local t = ap.zeros(4096) + 1 end")
        let peak = BufferPool.shared.statistics.peakLiveBytes - baseline
        #expect(peak < 32 << 20, "peak live tensor bytes \(peak)")
        try h.run("collectgarbage(); collectgarbage()")
        #expect(BufferPool.shared.statistics.liveBytes - baseline < 1 << 20)
    }
}
