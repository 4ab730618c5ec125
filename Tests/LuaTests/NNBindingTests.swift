import Testing
@testable import AutoProgLua

@Suite struct NNBindingTests {
    @Test func layersForwardWithPyTorchShapes() throws {
        try LuaHarness().run("""
            ap.manual_seed(0)
            local x = ap.randn(4, 8)
            local lin = ap.nn.Linear(8, 3)
            assert(lin(x):size(2) == 3 and lin:forward(x):size(1) == 4)
            assert(lin.weight:size(1) == 3 and lin.weight:size(2) == 8 and lin.bias:numel() == 3)
            assert(ap.nn.Linear(8, 3, false).bias == nil and ap.nn.Linear(8, 3, false):num_parameters() == 24)
            local img = ap.randn(2, 3, 8, 8)
            local conv = ap.nn.Conv2d(3, 5, 3, {stride = 2, padding = 1})
            local y = conv(img); assert(y:size(2) == 5 and y:size(3) == 4 and y:size(4) == 4)
            assert(ap.nn.Conv2d(3, 5, 1, {bias = false}):num_parameters() == 15)
            local ln = ap.nn.LayerNorm(8); local n = ln(x)
            assert(math.abs(n[1]:mean():item()) < 1e-5 and ln.weight:sum():item() == 8)
            assert(ap.nn.LayerNorm(8, {eps = 1e-6, elementwise_affine = false}):num_parameters() == 0)
            local gn = ap.nn.GroupNorm(2, 4); assert(gn(ap.randn(2, 4, 3, 3)):size(2) == 4)
            assert(ap.nn.GroupNorm(2, 4, {affine = false}):num_parameters() == 0)
            for _, m in ipairs{ap.nn.GELU(), ap.nn.GELU('tanh'), ap.nn.SiLU(), ap.nn.ReLU(), ap.nn.Tanh(), ap.nn.Sigmoid(), ap.nn.Identity()} do
              assert(m(x):size(2) == 8)
            end
            assert(ap.nn.ReLU()(ap.tensor{-1, 2})[1] == 0 and ap.nn.Identity()(x) == x)
            local drop = ap.nn.Dropout(0.5); local d = drop(ap.ones(1000))
            assert(d:sum():item() ~= 1000 and drop:evaluate()(ap.ones(10)):sum():item() == 10)
            assert(ap.nn.DropPath(0.1):evaluate()(ap.ones(2, 3)):sum():item() == 6)
            local emb = ap.nn.Embedding(5, 2)
            local e = emb(ap.tensor{1, 5}); assert(e:size(1) == 2 and e:size(2) == 2)
            assert(e[1][1] == emb.weight[1][1] and e[2][2] == emb.weight[5][2])   -- 1-based rows
            """)
        let h = LuaHarness()
        #expect(h.error("ap.nn.Embedding(5, 2)(ap.tensor{0})")?.message.contains("index 0 at position 1 is not an integer in 1..5 (indices are 1-based") == true)
        #expect(h.error("ap.nn.Linear(0, 2)")?.message.contains("bad argument #1 to 'ap.nn.Linear' (must be a positive integer, got 0)") == true)
        #expect(h.error("ap.nn.Conv2d(3, 5, 3, {strides = 2})")?.message.contains("unknown option 'strides' (valid: stride, padding, bias)") == true)
        #expect(h.error("ap.nn.GroupNorm(3, 4)")?.message.contains("4 channels do not split into 3 groups") == true)
        #expect(h.error("ap.nn.Dropout(1)")?.message.contains("p must be in [0, 1)") == true)
        #expect(h.error("ap.nn.GELU('fast')")?.message.contains("approximate must be") == true)
        let shape = try #require(h.error("local l = ap.nn.Linear(8, 3)\nreturn l(ap.zeros(2, 5))"))
        #expect(shape.message.hasPrefix("test.lua:2: linear:") && shape.message.contains("[2, 5]"))
    }

    @Test func sequentialParametersAndModes() throws {
        let h = LuaHarness()
        try h.run("""
            local m = ap.nn.Sequential():add(ap.nn.Linear(4, 8)):add(ap.nn.ReLU()):add(ap.nn.Linear(8, 2))
            local m2 = ap.nn.Sequential{ap.nn.Linear(4, 8), ap.nn.ReLU()}
            assert(#m == 3 and #m2 == 2 and m[1].weight:size(2) == 4 and m[4] == nil)
            assert(m:num_parameters() == 4 * 8 + 8 + 8 * 2 + 2)
            local ps = m:parameters(); assert(#ps == 4 and ps[1]:size(1) == 8)
            local named = m:named_parameters()
            assert(named['0.weight'] == ps[1] and named['2.bias'] == ps[4] and named['1.weight'] == nil)
            local y = m(ap.randn(3, 4)):sum(); y:backward()
            assert(ps[1].grad ~= nil and ps[1].grad:abs():sum():item() > 0)
            m:zero_grad(); assert(ps[1].grad:abs():sum():item() == 0)
            assert(m.is_training); m:evaluate(); assert(not m.is_training and not m[1].is_training)
            m:training(); assert(m.is_training); m:eval(); m:train(); assert(m.is_training)
            m:freeze(); assert(m:num_parameters(true) == 0 and not ps[1].requires_grad and ps[1].grad == nil)
            m:unfreeze(); assert(m:num_parameters(true) == m:num_parameters())
            assert(#m:children() == 3)
            print(m)
            local ok, err = pcall(function() ap.nn.Linear(2, 2):add(ap.nn.ReLU()) end)
            assert(not ok and err:find('only a Sequential takes added modules, not a Linear'), err)
            """)
        #expect(h.printed.hasPrefix("Sequential(58 params\n  (0): Linear(in=4, out=8)  [40 params]\n  (1): ReLU()\n"))
        #expect(h.error("ap.nn.Sequential{ap.nn.ReLU(), 3}")?.message.contains("element 2 is a number, expected a Module") == true)
    }

    @Test func stateDictRoundTripAndErrors() throws {
        let h = LuaHarness()
        try h.run("""
            local a, b = ap.nn.Linear(3, 2), ap.nn.Linear(3, 2)
            local sd = a:state_dict()
            assert(sd.weight:size(1) == 2 and sd.bias ~= nil)
            b:load_state_dict(sd)
            local x = ap.randn(4, 3)
            assert((a(x) - b(x)):abs():sum():item() == 0)
            sd.extra = ap.zeros(1)
            local ok, err = pcall(function() b:load_state_dict(sd) end)
            assert(not ok and err:find('unexpected keys: extra'), err)
            b:load_state_dict(sd, false)
            b:load_state_dict(sd, {strict = false})
            local bad = {weight = ap.zeros(3, 3), bias = ap.zeros(2)}
            local ok2, err2 = pcall(function() b:load_state_dict(bad) end)
            assert(not ok2 and err2:find('weight: checkpoint shape %[3, 3%], model shape %[2, 3%]'), err2)
            local ok3, err3 = pcall(function() b:load_state_dict({weight = 1}) end)
            assert(not ok3 and err3:find("'weight' is a number, expected a Tensor"), err3)
            """)
    }

    @Test func visionTransformerFromPresetAndOverrides() throws {
        let h = LuaHarness()
        try h.run("""
            local vit = ap.models.vit{preset = 'vit-nano', image = 8, patch = 4, channels = 1, classes = 3, depth = 1}
            local y = vit(ap.randn(2, 1, 8, 8)); assert(y:size(1) == 2 and y:size(2) == 3)
            local sd = vit:state_dict()
            assert(sd['blocks.0.attn.qkv.weight']:size(1) == 3 * 96 and sd['blocks.1.attn.qkv.weight'] == nil)
            assert(vit.head.weight:size(1) == 3 and vit.blocks[1].attn ~= nil)
            local small = ap.models.vit{image = 8, patch = 4, channels = 1, classes = 2, dim = 8, depth = 2, heads = 2, mlp_ratio = 2}
            assert(small.pos_embed:size(2) == 5)
            """)
        #expect(h.error("ap.models.vit{preset = 'vit-nano', imgae = 28}")?.message.contains("unknown option 'imgae' (valid: preset, image, patch, channels, classes, dim, depth, heads, mlp_ratio, drop_path)") == true)
        #expect(h.error("ap.models.vit{preset = 'vit-huge'}")?.message.contains("unknown preset \"vit-huge\" (valid: vit-nano, vit-micro, vit-tiny, vit-small)") == true)
        #expect(h.error("ap.models.vit{image = 28}")?.message.contains("give a preset") == true)
        #expect(h.error("ap.models.vit{dim = 8, depth = 1, heads = 3, image = 8, patch = 4}")?.message.contains("3 heads do not divide width 8") == true)
    }

    @Test func diffusionTransformerFromPresetAndForward() throws {
        let h = LuaHarness()
        try h.run("""
            ap.manual_seed(0)
            local m = ap.models.dit{preset = 'dit-s4', image = 8, channels = 1, classes = 3, depth = 1}
            assert(m.null_class == 4 and m:num_parameters() - m:num_parameters(true) == 4 * 192)
            local sd = m:state_dict()
            assert(sd['pos_embed']:size(2) == 4 and sd['y_embedder.embedding_table.weight']:size(1) == 4)
            assert(sd['blocks.0.adaLN_modulation.1.weight']:size(1) == 6 * 192 and sd['blocks.1.attn.qkv.weight'] == nil)
            local x = ap.randn(3, 1, 8, 8)
            -- adaLN-Zero: the fresh model predicts exactly 0 (2 channels: ε and the variance)
            local y0 = m:forward(x, ap.tensor{1, 500, 999}, {1, 3, 4})
            assert(y0:size(2) == 2 and y0:size(3) == 8 and y0:abs():sum():item() == 0)
            for _, p in ipairs(m:parameters()) do p:copy(p + ap.randn(p:size()) * 0.1) end
            m:evaluate()
            local a = m(x, ap.tensor{10, 10, 10}, ap.tensor{1, 2, 3})
            assert(a:abs():sum():item() > 0)
            local function same(u, v) return (u - v):abs():max():item() == 0 end
            assert(same(m(x, 10, {1, 2, 3}), a))                 -- one number for the batch
            assert(same(m(x, 10, {4, 4, 4}), m(x, 10)))          -- nil labels = the null class
            assert(not same(m(x, 10, {1, 2, 4}), a))
            local small = ap.models.dit{image = 8, patch = 2, channels = 2, classes = 3, dim = 8, depth = 2, heads = 2,
                                        class_dropout = 0, learn_sigma = false}
            assert(small.null_class == nil and small(ap.randn(1, 2, 8, 8), 3, {3}):size(2) == 2)
            """)
        #expect(h.error("ap.models.dit{preset = 'dit-s4', imgae = 28}")?.message.contains("unknown option 'imgae' (valid: preset, image, patch, channels, classes, dim, depth, heads, mlp_ratio, class_dropout, learn_sigma)") == true)
        #expect(h.error("ap.models.dit{preset = 'dit-xl'}")?.message.contains("unknown preset \"dit-xl\" (valid: dit-s4, dit-s2, dit-b4, dit-b2)") == true)
        #expect(h.error("ap.models.dit{image = 28}")?.message.contains("give a preset") == true)
        #expect(h.error("ap.models.dit{preset = 'dit-s4', image = 30}")?.message.contains("ap.models.dit: patch size 4 does not divide image size 30") == true)
        try h.run("m = ap.models.dit{preset = 'dit-s4', image = 8, channels = 1, classes = 3, depth = 1}; x = ap.randn(2, 1, 8, 8)")
        #expect(h.error("m(x, 1, {1, 5})")?.message.contains("label 5 at position 2 is not a class in 1..4 (4 = null class)") == true)
        #expect(h.error("m(x, 1, {0, 1})")?.message.contains("label 0 at position 1") == true)
        #expect(h.error("m(x, ap.tensor{1, 2, 3}, {1, 2})")?.message.contains("3 timesteps (shape [3]) for a batch of 2 images") == true)
        #expect(h.error("m(x)")?.message.contains("timesteps (a Tensor or a number) expected, got no value") == true)
        #expect(h.error("m(ap.randn(2, 3, 8, 8), 1)")?.message.contains("images of shape [2, 3, 8, 8] must be [B, 1, H, W]") == true)
        #expect(h.error("m(x, 1, 'cat')")?.message.contains("labels (a Tensor or a table of 1-based classes) expected") == true)
    }
}
