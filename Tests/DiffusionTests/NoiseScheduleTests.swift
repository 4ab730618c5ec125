import Foundation
import Testing
@testable import AutoProg

@Suite struct NoiseScheduleTests {
    @Test func linearScheduleMatchesClosedForms() throws {
        let s = try NoiseSchedule(.linear, steps: 1000)
        #expect(s.count == 1000)
        #expect(s.betas[0] == 1e-4 && s.betas[999] == 0.02)
        #expect(Swift.abs(s.betas[500] - (1e-4 + (0.02 - 1e-4) * 500 / 999)) < 1e-16)
        let alphaBar = closedFormLinearAlphaBar(steps: 1000)
        for t in [0, 1, 7, 250, 500, 999] {
            #expect(relativeError(s.alphasCumprod[t], alphaBar[t]) < 1e-12)
            let previous = t == 0 ? 1 : alphaBar[t - 1]
            #expect(relativeError(s.alphasCumprodPrev[t], previous) < 1e-12)
            #expect(relativeError(s.sqrtOneMinusAlphasCumprod[t], (1 - alphaBar[t]).squareRoot()) < 1e-12)
            #expect(relativeError(s.sqrtRecipm1AlphasCumprod[t], (1 / alphaBar[t] - 1).squareRoot()) < 1e-12)
            #expect(relativeError(s.logOneMinusAlphasCumprod[t], log(1 - alphaBar[t])) < 1e-12)
            // β̃_t = β_t(1 − ᾱ_{t−1})/(1 − ᾱ_t).
            let beta = 1 - alphaBar[t] / previous
            let posterior = beta * (1 - previous) / (1 - alphaBar[t])
            #expect(Swift.abs(s.posteriorVariance[t] - posterior) < 1e-15)
        }
        #expect(s.posteriorVariance[0] == 0)
        #expect(s.posteriorLogVarianceClipped[0] == log(s.posteriorVariance[1]))
        #expect(s.alphasCumprodNext[999] == 0 && s.alphasCumprodNext[3] == s.alphasCumprod[4])
        // A 100-step linear schedule is the 1000-step one stretched: β from 1e-3 to 0.2.
        let short = try NoiseSchedule(.linear, steps: 100)
        #expect(Swift.abs(short.betas[0] - 1e-3) < 1e-18 && Swift.abs(short.betas[99] - 0.2) < 1e-16)
    }

    @Test func posteriorMeanCoefficientsReproduceTheGaussianPosterior() throws {
        // Posterior mean of x_{t−1} given x_0, x_t for the chain x_{t−1} ~ N(√ᾱ_{t−1}x_0, 1−ᾱ_{t−1}),
        // x_t | x_{t−1} ~ N(√α_t x_{t−1}, β_t): the product-of-Gaussians closed form.
        let s = try NoiseSchedule(.cosine, steps: 200)
        for t in [1, 5, 100, 199] {
            let abarPrev = s.alphasCumprod[t - 1], beta = s.betas[t], alpha = 1 - beta
            let precision = 1 / (1 - abarPrev) + alpha / beta
            let x0 = 0.7, xt = -0.3
            let mean = (abarPrev.squareRoot() * x0 / (1 - abarPrev) + alpha.squareRoot() * xt / beta) / precision
            #expect(Swift.abs(s.posteriorMeanCoef1[t] * x0 + s.posteriorMeanCoef2[t] * xt - mean) < 1e-12)
            #expect(relativeError(s.posteriorVariance[t], 1 / precision) < 1e-10)
        }
    }

    @Test func cosineScheduleFollowsTheCosineSquaredAlphaBar() throws {
        let s = try NoiseSchedule(.cosine, steps: 1000)
        func f(_ t: Double) -> Double { pow(cos((t + 0.008) / 1.008 * Double.pi / 2), 2) }
        for t in [0, 1, 100, 500, 900, 990] {
            // Uncapped steps: ᾱ_t = f((t+1)/T)/f(0) exactly (telescoping product).
            #expect(relativeError(s.alphasCumprod[t], f(Double(t + 1) / 1000) / f(0)) < 1e-9)
        }
        #expect(s.betas.max() == 0.999)
        #expect(s.betas[999] == 0.999)
        #expect(s.betas.allSatisfy { $0 > 0 && $0 <= 0.999 })
    }

    @Test func matchesTheReferenceTranscription() throws {
        for name in ["linear", "cosine"] {
            let ref = DiffusionFixture.table("schedules", name)
            let s = try NoiseSchedule(try NoiseSchedule.Kind.named(name), steps: 1000)
            let indices = DiffusionFixture.ints(ref["indices"])
            let arrays: [(String, [Double])] = [
                ("betas", s.betas), ("alphas_cumprod", s.alphasCumprod), ("alphas_cumprod_prev", s.alphasCumprodPrev),
                ("alphas_cumprod_next", s.alphasCumprodNext), ("sqrt_alphas_cumprod", s.sqrtAlphasCumprod),
                ("sqrt_one_minus_alphas_cumprod", s.sqrtOneMinusAlphasCumprod),
                ("log_one_minus_alphas_cumprod", s.logOneMinusAlphasCumprod),
                ("sqrt_recip_alphas_cumprod", s.sqrtRecipAlphasCumprod),
                ("sqrt_recipm1_alphas_cumprod", s.sqrtRecipm1AlphasCumprod),
                ("posterior_variance", s.posteriorVariance),
                ("posterior_log_variance_clipped", s.posteriorLogVarianceClipped),
                ("posterior_mean_coef1", s.posteriorMeanCoef1), ("posterior_mean_coef2", s.posteriorMeanCoef2),
            ]
            for (key, ours) in arrays {
                let theirs = DiffusionFixture.doubles(ref[key])
                for (k, t) in indices.enumerated() {
                    #expect(Swift.abs(ours[t] - theirs[k]) <= 1e-13 * Swift.max(1, Swift.abs(theirs[k])), "\(name) \(key)[\(t)]")
                }
            }
        }
        let short = DiffusionFixture.table("schedules", "linear_100")
        let s = try NoiseSchedule(.linear, steps: 100)
        for (k, t) in DiffusionFixture.ints(short["indices"]).enumerated() {
            #expect(Swift.abs(s.betas[t] - DiffusionFixture.doubles(short["betas"])[k]) < 1e-16)
        }
    }

    @Test func badSchedulesAreErrors() throws {
        #expect { try NoiseSchedule.Kind.named("quadratic") } throws: { "\($0)".contains("quadratic") && "\($0)".contains("linear, cosine") }
        #expect { try NoiseSchedule(.linear, steps: 0) } throws: { "\($0)".contains("steps > 0") }
        #expect { try NoiseSchedule(.linear, steps: 10) } throws: { "\($0)".contains("steps ≥ 20") }
        #expect { try NoiseSchedule(betas: []) } throws: { "\($0)".contains("at least one step") }
        #expect { try NoiseSchedule(betas: [0.1, 0, 0.2]) } throws: { "\($0)".contains("beta[1]") }
        #expect { try NoiseSchedule(betas: [0.1, .nan]) } throws: { "\($0)".contains("beta[1]") }
    }
}
