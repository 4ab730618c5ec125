import Foundation
import Testing
@testable import AutoProgLua

@Suite(.serialized) struct DiffusionBindingTests {
    @Test func scheduleFieldsAndQSample() throws {
        let h = LuaHarness()
        try h.run("""
            local d = ap.diffusion{}
            assert(d.steps == 1000 and d.schedule == 'linear' and d.variance == nil, tostring(d))
            assert(tostring(d):find('Diffusion linear 1000 steps'))
            -- ᾱ_t = Π(1 − β) recomputed here from the linear betas (entry t+1 is step t).
            local prod = 1
            for t = 0, 999 do
              local beta = 1e-4 + (0.02 - 1e-4) * t / 999
              prod = prod * (1 - beta)
              if t == 0 or t == 500 or t == 999 then
                assert(math.abs(d.alphas_cumprod[t + 1] - prod) < 1e-12 * prod, t)
                assert(math.abs(d.betas[t + 1] - beta) < 1e-15, t)
              end
            end
            assert(#d.posterior_variance == 1000 and d.posterior_variance[1] == 0)
            assert(d.posterior_log_variance_clipped[1] == math.log(d.posterior_variance[2]))
            -- q_sample = √ᾱ x0 + √(1−ᾱ) noise, one step for all images or one per image.
            local x0, noise = ap.ones(2, 1, 2, 2) * 0.5, ap.randn(2, 1, 2, 2)
            local xt = d:q_sample(x0, {10, 900}, noise)
            for b, t in ipairs{10, 900} do
              local a = d.alphas_cumprod[t + 1]
              local want = math.sqrt(a) * 0.5 + math.sqrt(1 - a) * noise[b][1][2][1]
              assert(math.abs(xt[b][1][2][1] - want) < 1e-6, b)
            end
            local same = d:q_sample(x0, 10, noise)
            assert(math.abs(same[2][1][1][1] - (math.sqrt(d.alphas_cumprod[11]) * 0.5 + math.sqrt(1 - d.alphas_cumprod[11]) * noise[2][1][1][1])) < 1e-6)
            assert(d:q_sample(x0, 3):size(1) == 2)
            -- Respaced: keeps the original step numbers and ᾱ at them.
            local s = ap.diffusion{schedule = 'cosine', steps = 100, spacing = 'ddim10', learn_sigma = true}
            assert(s.steps == 10 and s.original_steps == 100 and s.variance == 'learned_range')
            local full = ap.diffusion{schedule = 'cosine', steps = 100}
            for k, t in ipairs(s.timestep_map) do
              assert(t == (k - 1) * 10)
              assert(math.abs(s.alphas_cumprod[k] - full.alphas_cumprod[t + 1]) < 1e-12)
            end
            assert(ap.diffusion{learn_sigma = false, sigma_small = true}.variance == 'fixed_small')
            -- schedule_size: 2x2 images of a process for 4x4 ones are noised with 4x the SNR.
            local sized = ap.diffusion{schedule_size = 4}
            assert(sized.schedule_size == 4 and d.schedule_size == nil and tostring(sized):find('for 4x4 images'))
            local a = d.alphas_cumprod[101]
            local shifted = 4 * a / (1 - a + 4 * a)
            local small = sized:q_sample(x0, 100, noise)
            assert(math.abs(small[1][1][1][1] - (math.sqrt(shifted) * 0.5 + math.sqrt(1 - shifted) * noise[1][1][1][1])) < 1e-6)
            assert(math.abs(sized:q_sample(ap.ones(1, 1, 4, 4), 100, ap.zeros(1, 1, 4, 4))[1][1][1][1] - math.sqrt(a)) < 1e-6)
            -- Data range helpers.
            local u = ap.tensor{0, 0.25, 1}
            local m = d:from_unit(u)
            assert(m[1] == -1 and m[2] == -0.5 and m[3] == 1)
            local back = d:to_unit(ap.tensor{-3, 0, 0.5})
            assert(back[1] == 0 and back[2] == 0.5 and back[3] == 0.75)
            """)
    }

    @Test func badDiffusionOptionsAreErrors() throws {
        let h = LuaHarness()
        let cases: [(String, String)] = [
            ("ap.diffusion{schedule = 'quad'}", "unknown noise schedule \"quad\""),
            ("ap.diffusion{steps = 0}", "steps must be positive"),
            ("ap.diffusion{steps = 10}", "steps ≥ 20"),
            ("ap.diffusion{step = 10}", "unknown option 'step'"),
            ("ap.diffusion{learn_sigma = true, sigma_small = true}", "exclude each other"),
            ("ap.diffusion{schedule_size = 0}", "schedule_size must be a positive image side"),
            ("ap.diffusion{spacing = 'ddim999'}", "integer stride"),
            ("ap.diffusion{}:q_sample(ap.zeros(2, 1, 2, 2), 1000)", "timestep 1000"),
            ("ap.diffusion{}:q_sample(ap.zeros(2, 1, 2, 2), 1.5)", "not an integer"),
            ("ap.diffusion{}:q_sample(ap.zeros(2, 1, 2, 2), {1, 2, 3})", "3 timesteps"),
            ("ap.diffusion{}:loss(ap.nn.Linear(2, 2), ap.zeros(1, 1, 2, 2))", "is not a denoising network"),
            ("ap.diffusion{}:loss(ap.zeros(2), ap.zeros(1, 1, 2, 2))", "model must be a denoising network"),
        ]
        for (source, message) in cases {
            let e = h.error(source)
            #expect(e?.message.contains(message) == true, "\(source): \(e?.message ?? "no error")")
            #expect(e?.message.hasPrefix("test.lua:1:") == true, "\(source): \(e?.message ?? "")")
        }
    }

    @Test func sampleValidatesEveryOptionBeforeTheModel() throws {
        let h = LuaHarness()
        try h.run("linear = ap.nn.Linear(2, 2)")
        let cases: [(String, String)] = [
            ("ap.sample{model = linear, cfg = -1}", "cfg (guidance scale) must be ≥ 0"),
            ("ap.sample{model = linear, sampler = 'euler'}", "unknown sampler \"euler\""),
            ("ap.sample{model = linear, steps = 0}", "steps must be positive"),
            ("ap.sample{model = linear, steps = 2000}", "2000 steps from a process of 1000"),
            ("ap.sample{model = linear, steps = 'ddim999'}", "integer stride"),
            ("ap.sample{model = linear, sampler = 'ddpm', eta = 0.5}", "eta is a DDIM setting"),
            ("ap.sample{model = linear, eta = 2}", "eta must be in [0, 1]"),
            ("ap.sample{model = linear, n = 0}", "n must be positive"),
            ("ap.sample{model = linear, classes = {}}", "classes is empty"),
            ("ap.sample{model = linear, size = {4}}", "size must be a positive integer or {height, width}"),
            ("ap.sample{model = linear, size = 'big'}", "size must be an integer"),
            ("ap.sample{model = linear, batch = 0}", "batch must be positive"),
            ("ap.sample{model = linear, seed = -1}", "seed must be ≥ 0"),
            ("ap.sample{model = linear, progress = 3}", "progress must be a function"),
            ("ap.sample{model = linear, diffusion = 3}", "diffusion must be a Diffusion"),
            ("ap.sample{model = linear, guidance = 2}", "unknown option 'guidance'"),
            ("ap.sample{n = 4}", "model = a denoising network is required"),
            ("ap.sample{model = linear, n = 4}", "Linear is not a denoising network"),
            ("ap.diffusion{}:sample{model = linear, n = 4, diffusion = ap.diffusion{}}", "unknown option 'diffusion'"),
            ("ap.sample()", "expects an options table"),
        ]
        for (source, message) in cases {
            let e = h.error(source)
            #expect(e?.message.contains(message) == true, "\(source): \(e?.message ?? "no error")")
        }
    }

    @Test func documented() throws {
        let h = LuaHarness()
        for path in ["ap.diffusion", "ap.sample", "Diffusion:q_sample", "Diffusion:loss", "Diffusion:sample", "Diffusion:to_unit", "Diffusion:from_unit"] {
            #expect(h.lua.documentation(for: path) != nil, "\(path)")
        }
    }
}
