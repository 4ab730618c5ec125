import Foundation
import Testing
@testable import AutoProgLua

@Suite struct OptimBindingTests {
    @Test func mlpTrainingWithAdamWLowersTheLoss() throws {
        let h = LuaHarness()
        try h.run("""
            ap.manual_seed(0)
            local x = ap.randn(64, 4)
            -- label 1 when the first feature is positive, else 2 (1-based classes)
            local labels = {}
            for i = 1, 64 do labels[i] = x[i][1] > 0 and 1 or 2 end
            local model = ap.nn.Sequential():add(ap.nn.Linear(4, 16)):add(ap.nn.GELU()):add(ap.nn.Linear(16, 2))
            local opt = ap.optim.adamw{params = model, lr = 1e-2, weight_decay = 0.01}
            local first, last
            for step = 1, 60 do
              opt:zero_grad()
              local loss = ap.F.cross_entropy(model(x), labels)
              loss:backward()
              opt:step()
              if step == 1 then first = loss:item() end
              last = loss:item()
            end
            assert(last < 0.5 * first, string.format('loss %g -> %g', first, last))
            local correct = 0
            local pred = model(x):argmax(2)
            for i = 1, 64 do if pred[i] == labels[i] then correct = correct + 1 end end
            assert(correct >= 58, correct)
            assert(opt.steps == 60)
            """)
    }

    @Test func optimizerSettingsAndState() throws {
        let h = LuaHarness()
        try h.run("""
            local m = ap.nn.Linear(3, 2)
            local ps = m:parameters()
            local opt = ap.optim.adamw{params = ps, lr = 0.1, betas = {0.8, 0.9}, eps = 1e-6, weight_decay = 0}
            assert(math.abs(opt.lr - 0.1) < 1e-7 and opt.kind == 'adamw')
            opt.lr = 0.05; assert(math.abs(opt.lr - 0.05) < 1e-7)
            opt:set_lr(0.01); assert(math.abs(opt.lr - 0.01) < 1e-7)
            -- parameters taken before the optimizer packed them still see the live values
            local before = ps[1][1][1]
            m(ap.ones(1, 3)):sum():backward(); opt:step()
            assert(ps[1][1][1] ~= before and m.weight[1][1] == ps[1][1][1])
            local s = opt:state_dict()
            assert(s.metadata.type ~= nil and next(s.tensors) ~= nil)
            local twin = ap.nn.Linear(3, 2)
            twin:load_state_dict(m:state_dict())
            local opt2 = ap.optim.adamw{params = twin, lr = 0.01, betas = {0.8, 0.9}, eps = 1e-6, weight_decay = 0}
            opt2:load_state_dict(s)
            for _, model in ipairs{m, twin} do model:zero_grad(); model(ap.ones(1, 3)):sum():backward() end
            opt:step(); opt2:step()
            assert((m.weight - twin.weight):abs():sum():item() == 0)
            local sgd = ap.optim.sgd{params = m, lr = 0.1, momentum = 0.9, nesterov = true}
            m:zero_grad(); m(ap.ones(1, 3)):sum():backward(); sgd:step(); assert(sgd.steps == 1)
            print(sgd)
            local unbound = ap.optim.adamw{lr = 1e-3}
            assert(unbound.lr == 1e-3 or math.abs(unbound.lr - 1e-3) < 1e-9)
            local ok, err = pcall(function() unbound:step() end)
            assert(not ok and err:find('needs parameters'), err)
            """)
        #expect(h.printed.hasPrefix("Optimizer sgd lr=0.1 (2 parameters, step 1)"))
        #expect(h.error("ap.optim.adamw{params = ap.nn.Linear(2, 2), lr = -1}")?.message.contains("invalid learning rate -1") == true)
        #expect(h.error("ap.optim.adamw{lr = 1, beta = {0.9, 0.99}}")?.message.contains("unknown option 'beta'") == true)
        #expect(h.error("ap.optim.sgd{params = {ap.zeros(2)}, lr = 1}")?.message.contains("params[1] is not a parameter") == true)
        #expect(h.error("ap.optim.sgd{params = ap.nn.Linear(2, 2)}")?.message.contains("lr is required") == true)
        #expect(h.error("local o = ap.optim.adamw{lr = 1}\no.momentum = 1")?.message.hasPrefix("test.lua:2: cannot set field 'momentum' of an Optimizer") == true)
        #expect(h.error("local m = ap.nn.Linear(2, 2)\nlocal o = ap.optim.adamw{params = m}\no:load_state_dict({tensors = {}, metadata = {}})") != nil)
    }

    @Test func schedulesClippingAndEMA() throws {
        let h = LuaHarness()
        try h.run("""
            local c = ap.sched.constant{lr = 0.1}; assert(math.abs(c:lr(0) - 0.1) < 1e-7 and c.kind == 'constant')
            local w = ap.sched.warmup_constant{lr = 1, warmup = 4}; assert(w:lr(0) == 0 and w:lr(2) == 0.5 and w:lr(10) == 1)
            local l = ap.sched.linear{lr = 1, total = 10}; assert(l:lr(0) == 1 and math.abs(l:lr(5) - 0.5) < 1e-6)
            local cos = ap.sched.cosine{lr = 1, total = 10, warmup = 2, min_lr = 0.1}
            assert(cos:lr(0) == 0 and cos:lr(2) == 1 and math.abs(cos:lr(10) - 0.1) < 1e-6)
            local restored = ap.sched.load(cos:state_dict())
            for s = 0, 12 do assert(restored:lr(s) == cos:lr(s)) end
            assert(tostring(cos):find('Schedule cosine'))
            local partial = ap.sched.cosine{warmup = 5}
            local ok, err = pcall(function() return partial:lr(1) end)
            assert(not ok and err:find('lr is not set'), err)

            local m = ap.nn.Linear(3, 2)
            m(ap.ones(4, 3) * 100):sum():backward()
            local norm = ap.clip_grad_norm(m, 1.0)
            assert(norm > 1)
            local sq = 0
            for _, p in ipairs(m:parameters()) do sq = sq + (p.grad * p.grad):sum():item() end
            assert(math.abs(math.sqrt(sq) - 1) < 1e-3)
            assert(ap.clip_grad_norm(m:parameters(), 10) <= 1.001)

            local ema = ap.ema(m, {0.5, 0.9})
            assert(#ema.decays == 2 and ema.updates == 0)
            local w0 = m.weight:clone()
            m.weight:fill(1)
            ema:update(); assert(ema.updates == 1)
            local avg = ema:weights(1)['weight']
            assert(math.abs(avg[1][1] - (0.5 * w0[1][1] + 0.5)) < 1e-6)
            local copy = ap.nn.Linear(3, 2)
            ema:copy_to(copy, 2)
            assert(math.abs(copy.weight[1][1] - (0.9 * w0[1][1] + 0.1)) < 1e-6)
            local s = ema:state_dict()
            local ema2 = ap.ema(m, {0.5, 0.9}); ema2:load_state_dict(s); assert(ema2.updates == 1)
            assert(ap.ema(m, 0.99, {warmup = true}) ~= nil and ap.ema(m, 0.99, {warmup = {gamma = 2}}) ~= nil)
            assert(tostring(ema):find('EMA decays=0.5,0.9 updates=1', 1, true))
            local ok2, err2 = pcall(function() ema:copy_to(copy, 3) end)
            assert(not ok2 and err2:find('average 3 does not exist'), err2)
            """)
        #expect(h.error("ap.sched.cosine{lr = 1, total = 5, warmup = 10}")?.message.contains("warmupSteps") == true)
        #expect(h.error("ap.sched.cosine{lr = 1, totl = 5}")?.message.contains("unknown option 'totl' (valid: lr, total, warmup, min_lr)") == true)
        #expect(h.error("ap.ema(ap.nn.Linear(2, 2), {1.5})")?.message.contains("each in [0, 1]") == true)
    }

    @Test func saveAndLoadRoundTrip() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("model.safetensors").path
        let h = LuaHarness()
        try h.run("""
            local path = '\(path)'
            local m = ap.nn.Sequential{ap.nn.Linear(3, 4), ap.nn.ReLU(), ap.nn.Linear(4, 2)}
            ap.save(path, m:state_dict(), {epoch = 3, note = 'hi', best = true})
            local tensors, meta = ap.load(path)
            assert(meta.epoch == '3' and meta.note == 'hi' and meta.best == 'true')
            assert(tensors['0.weight']:size(2) == 3)
            local order = getmetatable(tensors).__order
            assert(order[1] == '0.weight' and order[2] == '0.bias' and order[3] == '2.weight')
            local fresh = ap.nn.Sequential{ap.nn.Linear(3, 4), ap.nn.ReLU(), ap.nn.Linear(4, 2)}
            fresh:load_state_dict(ap.load(path))
            local x = ap.randn(5, 3)
            assert((m(x) - fresh(x)):abs():sum():item() == 0)
            ap.save(path, {a = ap.tensor{{1, 2}, {3, 4}}:t(), b = ap.tensor(5)})
            local t = ap.load(path)
            assert(t.a[1][2] == 3 and t.b:item() == 5)
            """)
        #expect(h.error("ap.save('\(path)', {a = 1})")?.message.contains("'a' is a number, expected a Tensor") == true)
        #expect(h.error("ap.save('\(path)', {a = ap.zeros(1)}, {x = {}})")?.message.contains("value of 'x' is a table, expected a string") == true)
        #expect(h.error("ap.load('\(dir.path)/missing.safetensors')")?.message.hasPrefix("test.lua:1: ") == true)
    }
}
