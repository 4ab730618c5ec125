import Foundation
import Testing
@testable import AutoProgLua

@Suite(.serialized) struct FineTuneBindingTests {
    /// A 4-block DiT with weights off adaLN-Zero's zeros, as `m` (and its inputs x, y).
    static let setup = """
        ap.manual_seed(0)
        m = ap.models.dit{image = 8, patch = 2, channels = 1, classes = 3, dim = 16, depth = 4, heads = 2}
        for _, p in ipairs(m:parameters()) do p:copy(p + ap.randn(p:size()) * 0.1) end
        x, y = ap.randn(3, 1, 8, 8), {1, 3, 4}
        function names(list) local s = {} for _, n in ipairs(list) do s[n] = true end return s end
        function step(model, opt)
          opt:zero_grad()
          local out = model(x, 10, y)
          local loss = ((out - 0.3) * (out - 0.3)):mean()
          loss:backward()
          opt:step()
        end

        """

    @Test func setLearnableChoosesBlocksByOrder() throws {
        let h = LuaHarness()
        try h.run(Self.setup + """
            assert(m:set_learnable{fraction = 0.25, order = 'interleaved'} == m)
            local list, count = m:learnable()
            local s = names(list)
            assert(s['blocks.0.attn.qkv.weight'] and not s['blocks.1.attn.qkv.weight'] and not s['blocks.3.mlp.fc2.bias'])
            assert(s['x_embedder.proj.weight'] and s['y_embedder.embedding_table.weight'] and s['final_layer.linear.weight'])
            assert(not s['pos_embed'] and count == m:num_parameters(true))
            m:set_learnable{fraction = 0.25, order = 'output-first'}
            s = names(m:learnable())
            assert(s['blocks.3.attn.qkv.weight'] and not s['blocks.2.attn.qkv.weight'] and not s['x_embedder.proj.weight'])
            assert(s['t_embedder.mlp.0.weight'] and s['y_embedder.embedding_table.weight'])
            m:set_learnable{fraction = 0.5, order = 'input-first'}
            s = names(m:learnable())
            assert(s['blocks.1.mlp.fc1.weight'] and not s['blocks.2.mlp.fc1.weight'] and s['t_embedder.mlp.0.weight'])
            m:set_learnable{fraction = 1}
            assert(#m:learnable() == #m:parameters() - 1)
            -- a training step moves the learnable blocks only
            m:set_learnable{fraction = 0.25}
            local opt = ap.optim.adamw{params = m, lr = 1e-2}
            local frozen, learnt = m.blocks[2].attn.qkv.weight:clone(), m.blocks[1].attn.qkv.weight:clone()
            step(m, opt)
            assert((m.blocks[2].attn.qkv.weight - frozen):abs():max():item() == 0)
            assert((m.blocks[1].attn.qkv.weight - learnt):abs():max():item() > 0)
            """)
        #expect(h.error("m:set_learnable{fraction = 0}")?.message.contains("m:set_learnable: the learnable fraction must be in (0, 1], not 0.0") == true)
        #expect(h.error("m:set_learnable{fraction = 0.5, order = 'top-down'}")?.message.contains("unknown order \"top-down\" (valid: \"interleaved\", \"output-first\", \"input-first\")") == true)
        #expect(h.error("m:set_learnable{fration = 0.5}")?.message.contains("unknown option 'fration' (valid: fraction, order)") == true)
        #expect(h.error("ap.nn.Linear(2, 2):set_learnable{fraction = 0.5}")?.message.contains("needs a block-structured model (a DiT), not a Linear") == true)
    }

    @Test func prepareInstallsEachMethod() throws {
        let h = LuaHarness()
        try h.run(Self.setup + """
            local function fresh()
              local d = ap.models.dit{image = 8, patch = 2, channels = 1, classes = 3, dim = 16, depth = 4, heads = 2}
              d:load_state_dict(m:state_dict())
              return d
            end
            local b = ap.finetune.prepare(fresh(), {method = 'bitfit'})
            for _, n in ipairs(b:learnable()) do assert(n:sub(-5) == '.bias' or n == 'y_embedder.embedding_table.weight', n) end
            local d = ap.finetune.prepare(fresh(), {method = 'difffit'})
            local s = names(d:learnable())
            assert(s['blocks.2.gamma_1'] and s['blocks.2.gamma_2'] and s['y_embedder.embedding_table.weight'] and not s['blocks.0.attn.qkv.weight'])
            assert(d.blocks[1].gamma_1:sum():item() == 16)
            local l = ap.finetune.prepare(fresh(), {method = 'lora', rank = 2, alpha = 4, mlp = true})
            local list = l:learnable()
            assert(#list == 4 * 8 + 1, #list)
            for _, n in ipairs(list) do assert(n:find('lora_[AB]%.weight$') or n == 'y_embedder.embedding_table.weight', n) end
            local sd = l:state_dict()
            assert(sd['blocks.0.attn.qkv.lora_A.weight']:size(1) == 2 and sd['blocks.0.mlp.fc2.lora_B.weight']:size(2) == 2)
            -- LoRA starts as the base model; after training, merging keeps the function
            l:evaluate(); m:evaluate()
            assert((l(x, 10, y) - m(x, 10, y)):abs():max():item() == 0)
            l:training()
            local opt = ap.optim.adamw{params = l, lr = 1e-2}
            for i = 1, 2 do step(l, opt) end
            l:evaluate()
            local before = l(x, 10, y)
            assert((before - m(x, 10, y)):abs():max():item() > 0)
            assert(l:merge_lora() == 16)
            assert((l(x, 10, y) - before):abs():max():item() < 1e-5)
            assert(l:state_dict()['blocks.0.attn.qkv.lora_A.weight'] == nil)
            assert(#ap.finetune.prepare(fresh(), {method = 'full'}):learnable() == #m:parameters() - 1)
            local r = ap.finetune.resolutions(28, 4)
            assert(#r == 4 and r[1] == 8 and r[2] == 16 and r[3] == 24 and r[4] == 28)
            """)
        #expect(h.error("ap.finetune.prepare(m, {method = 'adapter'})")?.message.contains("unknown method \"adapter\" (valid: \"full\", \"bitfit\", \"difffit\", \"lora\")") == true)
        #expect(h.error("ap.finetune.prepare(m, {})")?.message.contains("give a method") == true)
        #expect(h.error("ap.finetune.prepare(m, {method = 'bitfit', rank = 4})")?.message.contains("option 'rank' applies to method \"lora\" only") == true)
        #expect(h.error("ap.finetune.prepare(m, {method = 'lora', rank = 0})")?.message.contains("ap.finetune.prepare: LoRA rank 0 must be in 1...16") == true)
        #expect(h.error("ap.finetune.prepare(m, {method = 'lora', ranks = 4})")?.message.contains("unknown option 'ranks'") == true)
        #expect(h.error("ap.finetune.prepare(ap.nn.Linear(2, 2), {method = 'full'})")?.message.contains("needs a DiT (ap.models.dit), not a Linear") == true)
        #expect(h.error("ap.finetune.resolutions(30, 4)")?.message.contains("the patch size 4 must divide the full image size 30") == true)
    }

    @Test func stageIdentifiers() throws {
        let h = LuaHarness()
        try h.run(Self.setup + """
            assert(m.stage == nil and m.sid_stages == nil)
            local base = m:state_dict()
            assert(m:enable_sid(4) == m and m.sid_stages == 4 and m.stage == 4)
            local sd = m:state_dict()
            assert(sd['sid_embedder.embedding_table.weight']:size(1) == 5 and sd['sid_embedder.embedding_table.weight']:size(2) == 16)
            -- a base checkpoint without the SID loads non-strictly; one with it round-trips strictly
            m:load_state_dict(base, false)
            local twin = ap.models.dit{image = 8, patch = 2, channels = 1, classes = 3, dim = 16, depth = 4, heads = 2}
            twin:enable_sid(4)
            twin:load_state_dict(m:state_dict())
            m:evaluate(); twin:evaluate()
            assert((m(x, 10, y) - twin(x, 10, y)):abs():max():item() == 0)
            -- the stage changes conditional outputs, not unconditional ones (null class, null stage)
            local cond, uncond = m(x, 10, {1, 2, 3}), m(x, 10)
            assert(m:set_stage(1) == m and m.stage == 1)
            assert((m(x, 10, {1, 2, 3}) - cond):abs():max():item() > 0)
            assert((m(x, 10) - uncond):abs():max():item() == 0)
            -- the SID table learns under a mask
            m:set_learnable{fraction = 0.25, order = 'output-first'}
            assert(names(m:learnable())['sid_embedder.embedding_table.weight'])
            """)
        #expect(h.error("m:set_stage(5)")?.message.contains("stage 5 is not in 1..4") == true)
        #expect(h.error("m:set_stage(0)")?.message.contains("stage 0 is not in 1..4") == true)
        #expect(h.error("m:enable_sid(3)")?.message.contains("m:enable_sid: stage identifiers are already enabled with 4 stages, not 3") == true)
        try h.run("plain = ap.models.dit{image = 8, patch = 2, channels = 1, classes = 3, dim = 16, depth = 1, heads = 2}")
        #expect(h.error("plain:set_stage(1)")?.message.contains("has no stage identifiers (call m:enable_sid(stages) first)") == true)
        #expect(h.error("plain:enable_sid(0)")?.message.contains("at least one stage") == true)
    }
}
