import Foundation
import Testing
@testable import AutoProg

@Suite(.serialized) struct DiffusionLossTests {
    @Test func qSampleIsTheClosedFormAndHasItsStatistics() throws {
        let d = try GaussianDiffusion(.linear, steps: 1000)
        let alphaBar = closedFormLinearAlphaBar(steps: 1000)
        let x0 = try Tensor([Float](repeating: 0.6, count: 2 * 4096) , shape: [2, 1, 64, 64])
        var stream = RandomStream(seed: 5, purpose: "test")
        let noise = Tensor(uninitializedShape: x0.shape)
        stream.fillNormal(noise.pointer, count: noise.count)
        let t = [100, 700]
        let xt = try d.qSample(x0, timesteps: t, noise: noise)
        let values = xt.toArray(), eps = noise.toArray()
        for i in [0, 17, 4095, 4096, 8191] {
            let a = alphaBar[t[i / 4096]]
            #expect(Swift.abs(Double(values[i]) - (a.squareRoot() * 0.6 + (1 - a).squareRoot() * Double(eps[i]))) < 1e-6)
        }
        for (b, step) in t.enumerated() {
            let (mean, std) = statistics(try xt.sliced(axis: 0, b..<(b + 1)))
            let a = alphaBar[step]
            #expect(Swift.abs(mean - a.squareRoot() * 0.6) < 4 * (1 - a).squareRoot() / 64)
            #expect(Swift.abs(std - (1 - a).squareRoot()) < 0.03 * (1 - a).squareRoot())
        }
        #expect { try d.qSample(x0, timesteps: [1], noise: noise) } throws: { "\($0)".contains("1 timesteps") }
        #expect { try d.qSample(x0, timesteps: [1, 1000], noise: noise) } throws: { "\($0)".contains("timestep 1000") }
    }

    @Test func normalKLClosedForms() throws {
        let m = Tensor.randn([3, 5]), v = Tensor.randn([3, 5])
        let same = try normalKL(mean1: m, logVariance1: v, mean2: m, logVariance2: v)
        #expect(same.toArray().allSatisfy { Swift.abs($0) < 1e-6 })
        // KL(N(μ₁, σ₁²) ‖ N(μ₂, σ₂²)) = log(σ₂/σ₁) + (σ₁² + (μ₁ − μ₂)²)/(2σ₂²) − ½.
        let cases: [(Double, Double, Double, Double)] = [(0, 1, 1, 2), (0.5, 0.1, -1, 3), (2, 4, 2, 0.5)]
        for (m1, s1, m2, s2) in cases {
            let kl = try normalKL(mean1: Tensor(scalar: Float(m1)), logVariance1: Tensor(scalar: Float(2 * log(s1))),
                                  mean2: Tensor(scalar: Float(m2)), logVariance2: Tensor(scalar: Float(2 * log(s2)))).item()
            let expected = log(s2 / s1) + (s1 * s1 + (m1 - m2) * (m1 - m2)) / (2 * s2 * s2) - 0.5
            #expect(Swift.abs(Double(kl) - expected) < 1e-5 * Swift.max(1, expected))
        }
    }

    @Test func discretizedLikelihoodMatchesTheFormula() throws {
        // Reference: the same tanh approximation of Φ, evaluated here in Double.
        func cdf(_ x: Double) -> Double { 0.5 * (1 + Foundation.tanh((2 / Double.pi).squareRoot() * (x + 0.044715 * x * x * x))) }
        let xs: [Float] = [-1, -0.999 + 1e-4, -0.5, 0, 0.3, 1, 0.999, 0.9991]
        let ms: [Float] = [-0.9, -1, -0.4, 0.02, 0.35, 0.8, 1.2, 0.99]
        let ls: [Float] = [-2, -3, -1, -4, -2.5, -1.5, -6, -3]
        let ll = try discretizedGaussianLogLikelihood(Tensor(xs), means: Tensor(ms), logScales: Tensor(ls)).toArray()
        for i in xs.indices {
            let x = Double(xs[i]), inv = exp(-Double(ls[i])), c = x - Double(ms[i])
            let plus = cdf(inv * (c + 1 / 255)), minus = cdf(inv * (c - 1 / 255))
            // The edge tests compare in float32, as torch compares a float tensor with a scalar.
            let expected = xs[i] < -0.999 ? log(Swift.max(plus, 1e-12))
                : xs[i] > 0.999 ? log(Swift.max(1 - minus, 1e-12)) : log(Swift.max(plus - minus, 1e-12))
            #expect(Swift.abs(Double(ll[i]) - expected) < 2e-4 * Swift.max(1, Swift.abs(expected)), "element \(i)")
        }
        // A narrow Gaussian centred in a middle bin holds (nearly) all its mass there.
        let sharp = try discretizedGaussianLogLikelihood(Tensor([0.2]), means: Tensor([0.2]), logScales: Tensor([-8])).item()
        #expect(Swift.abs(sharp) < 1e-5)
    }

    @Test func likelihoodPiecesPassGradientChecks() throws {
        let check = GradientCheck(epsilon: 1e-3, absoluteTolerance: 2e-3, relativeTolerance: 2e-2)
        let kl = try check.mismatches([Tensor.randn([2, 6]), Tensor.randn([2, 6], std: 0.5), Tensor.randn([2, 6]),
                                       Tensor.randn([2, 6], std: 0.5)]) { x in
            try normalKL(mean1: x[0], logVariance1: x[1], mean2: x[2], logVariance2: x[3])
        }
        #expect(kl.isEmpty, "\(kl)")
        // x stays away from the bin edges and from ±0.999 so finite differences see one branch.
        let x = try Tensor([-1, -0.6, -0.2, 0.1, 0.4, 0.8, 1, 0.5], shape: [2, 4])
        let means = try Tensor([-0.9, -0.5, -0.3, 0.2, 0.3, 0.7, 0.95, 0.5], shape: [2, 4])
        let logScales = try Tensor([-2, -1.5, -2.5, -1, -2, -1.8, -2.2, -3], shape: [2, 4])
        let dgll = try check.mismatches([x, means, logScales], constant: [0]) { v in
            try discretizedGaussianLogLikelihood(v[0], means: v[1], logScales: v[2])
        }
        #expect(dgll.isEmpty, "\(dgll)")
    }

    @Test func lossTermsMatchTheReference() throws {
        let ref = DiffusionFixture.table("loss")
        let shape = DiffusionFixture.ints(ref["shape"])
        let t = DiffusionFixture.ints(ref["t"])
        let x0 = try Tensor(DiffusionFixture.floats(ref["x0"]), shape: shape)
        let noise = try Tensor(DiffusionFixture.floats(ref["noise"]), shape: shape)
        let output = try Tensor(DiffusionFixture.floats(ref["model_output"]), shape: [shape[0], 2 * shape[1]] + shape[2...])
        let model = FixedOutputDenoiser(output: output, channels: shape[1], learnsSigma: true)
        let d = try GaussianDiffusion(.linear, steps: 1000)
        let terms = try d.trainingLosses(model: model, x0: x0, labels: nil, timesteps: t, noise: noise)
        #expect(terms.timesteps == t)
        #expect(maxAbsDifference(terms.mse.toArray(), DiffusionFixture.floats(ref["mse"])) < 1e-5)
        let vb = terms.vb!.toArray(), refVB = DiffusionFixture.floats(ref["vb"])
        for (ours, theirs) in zip(vb, refVB) { #expect(Swift.abs(ours - theirs) < 1e-5 * Swift.max(1, Swift.abs(theirs))) }
        #expect(Swift.abs(try terms.loss.item() - (ref["loss"] as! NSNumber).floatValue) < 1e-5)

        // The reverse step the sampler takes from the same x_t (clipped x̂_0, learned range).
        let xt = try Tensor(DiffusionFixture.floats(ref["xt"]), shape: shape)
        #expect(maxAbsDifference(try d.qSample(x0, timesteps: t, noise: noise).toArray(), xt.toArray()) < 1e-6)
        let p = try d.prediction(from: output, x: xt, timesteps: t, variance: .learnedRange, clipDenoised: true)
        #expect(maxAbsDifference(p.mean.toArray(), DiffusionFixture.floats(ref["clipped_mean"])) < 1e-5)
        #expect(maxAbsDifference(p.logVariance.toArray(), DiffusionFixture.floats(ref["log_variance"])) < 1e-5)
        #expect(maxAbsDifference(p.predictedX0.toArray(), DiffusionFixture.floats(ref["clipped_pred_x0"])) < 1e-5)
        for variance in [GaussianDiffusion.Variance.fixedLarge, .fixedSmall] {
            let fixed = DiffusionFixture.table("loss", variance.rawValue)
            let q = try d.prediction(from: try output.sliced(axis: 1, 0..<shape[1]), x: xt, timesteps: t, variance: variance,
                                     clipDenoised: false)
            #expect(maxAbsDifference(q.mean.toArray(), DiffusionFixture.floats(fixed["mean"])) < 1e-5)
            #expect(maxAbsDifference(q.logVariance.toArray(), DiffusionFixture.floats(fixed["log_variance"])) < 1e-5)
        }
    }

    @Test func mseIsTheMeanSquaredNoiseErrorOfTheModel() throws {
        // The analytic model's ε̂ at x_t is known in closed form; the loss must be its MSE.
        let d = try GaussianDiffusion(.linear, steps: 1000)
        let alphaBar = closedFormLinearAlphaBar(steps: 1000)
        let model = AnalyticGaussianDenoiser(alphaBar: alphaBar, means: [0.25], std: 0.3)
        let x0 = Tensor.randn([3, 1, 5, 5], mean: 0.25, std: 0.3, purpose: .noise)
        let noise = Tensor.randn([3, 1, 5, 5], purpose: .noise)
        let t = [0, 400, 999]
        let terms = try d.trainingLosses(model: model, x0: x0, labels: nil, timesteps: t, noise: noise)
        #expect(terms.vb == nil)
        let xs = x0.toArray(), es = noise.toArray()
        var total = 0.0
        for b in 0..<3 {
            let a = alphaBar[t[b]]
            var sum = 0.0
            for j in 0..<25 {
                let xt = a.squareRoot() * Double(xs[b * 25 + j]) + (1 - a).squareRoot() * Double(es[b * 25 + j])
                let predicted = (1 - a).squareRoot() * (xt - a.squareRoot() * 0.25) / (a * 0.09 + 1 - a)
                sum += (predicted - Double(es[b * 25 + j])) * (predicted - Double(es[b * 25 + j]))
            }
            #expect(Swift.abs(Double(terms.mse.toArray()[b]) - sum / 25) < 1e-5)
            total += sum / 25
        }
        #expect(Swift.abs(Double(try terms.loss.item()) - total / 3) < 1e-5)
    }

    @Test func vbTrainsOnlyTheVarianceChannels() throws {
        // ε channels get exactly the MSE gradient 2(ε̂ − ε)/(B·C·H·W); v channels get the bound's.
        let (b, c, h, w) = (3, 2, 4, 4)
        let output = Tensor.randn([b, 2 * c, h, w]).requiringGrad()
        let model = FixedOutputDenoiser(output: output, channels: c, learnsSigma: true)
        let d = try GaussianDiffusion(.cosine, steps: 100)
        let noise = Tensor.randn([b, c, h, w])
        let x0 = Tensor.rand([b, c, h, w], low: -1, high: 1)
        let terms = try d.trainingLosses(model: model, x0: x0, labels: nil, timesteps: [0, 3, 99], noise: noise)
        try terms.loss.backward()
        let g = output.grad!
        let n = Float(b * c * h * w)
        let expected = try ((output.detached().sliced(axis: 1, 0..<c) - noise) * (2 / n)).toArray()
        #expect(maxAbsDifference(try g.sliced(axis: 1, 0..<c).toArray(), expected) < 1e-6)
        let varianceGradient = try g.sliced(axis: 1, c..<(2 * c)).toArray()
        #expect(varianceGradient.contains { Swift.abs($0) > 1e-6 })
        #expect(varianceGradient.allSatisfy { $0.isFinite })
    }

    @Test func timestepsAndNoiseComeFromTheNoiseStream() throws {
        let d = try GaussianDiffusion(.linear, steps: 1000)
        let model = TinyConvDenoiser(channels: 1, classes: 3, learnsSigma: true)
        let x0 = Tensor.rand([4, 1, 6, 6], low: -1, high: 1)
        Random.manualSeed(11)
        let initState = Random.state["initialization"]
        var expected = RandomStream(seed: 11, purpose: "noise")
        let draws = (0..<4).map { _ in expected.nextInt(below: 1000) }
        let first = try d.trainingLosses(model: model, x0: x0, labels: [0, 1, 2, 3])
        #expect(first.timesteps == draws)
        #expect(Random.state["initialization"] == initState)
        // Resuming from a saved RNG state reproduces the next step exactly.
        let saved = Random.state
        let second = try d.trainingLosses(model: model, x0: x0, labels: [0, 1, 2, 3])
        Random.restore(saved)
        let replay = try d.trainingLosses(model: model, x0: x0, labels: [0, 1, 2, 3])
        #expect(replay.timesteps == second.timesteps)
        #expect(try replay.loss.item() == second.loss.item())
    }

    @Test func aTinyDenoiserLearns() throws {
        // Data: images whose pixels are ±0.5 by class; the model should learn to predict ε.
        Random.manualSeed(3)
        let model = TinyConvDenoiser(channels: 1, classes: 2, width: 16, learnsSigma: true)
        let optimizer = try AdamW(model: model, learningRate: 3e-3, weightDecay: 0)
        let d = try GaussianDiffusion(.linear, steps: 1000)
        let labels = (0..<16).map { $0 % 2 }
        let x0 = try Tensor(labels.flatMap { [Float](repeating: $0 == 0 ? -0.5 : 0.5, count: 64) }, shape: [16, 1, 8, 8])
        let evalT = (0..<16).map { 60 * $0 + 10 }
        let evalNoise = Tensor.randn(x0.shape, purpose: .noise)
        func evalLoss() throws -> Float {
            try Autograd.withoutGradients {
                try d.trainingLosses(model: model, x0: x0, labels: labels, timesteps: evalT, noise: evalNoise).mse.mean().item()
            }
        }
        let before = try evalLoss()
        for _ in 0..<150 {
            model.zeroGrad()
            let loss = try d.trainingLoss(model: model, x0: x0, labels: labels)
            try loss.backward()
            try optimizer.step()
        }
        let after = try evalLoss()
        #expect(after < 0.7 * before, "ε-MSE \(before) → \(after)")
        #expect(model.parameters.allSatisfy { !$0.value.hasNonFinite })
    }

    @Test func lossInputErrors() throws {
        let d = try GaussianDiffusion(.linear, steps: 1000)
        let conditional = TinyConvDenoiser(channels: 1, classes: 3, learnsSigma: true)
        let x = Tensor.zeros([2, 1, 4, 4])
        #expect { try d.trainingLoss(model: conditional, x0: Tensor.zeros([2, 3, 4, 4]), labels: [0, 1]) } throws: {
            "\($0)".contains("3 channels") && "\($0)".contains("takes 1")
        }
        #expect { try d.trainingLoss(model: conditional, x0: Tensor.zeros([4, 4]), labels: [0, 1]) } throws: { "\($0)".contains("[B, C, H, W]") }
        #expect { try d.trainingLoss(model: conditional, x0: x, labels: [0, 4]) } throws: { "\($0)".contains("class 4") }
        #expect { try d.trainingLoss(model: conditional, x0: x, labels: [-1, 0]) } throws: { "\($0)".contains("class -1") }
        #expect { try d.trainingLoss(model: conditional, x0: x, labels: [0]) } throws: { "\($0)".contains("1 labels for 2 images") }
        #expect { try d.trainingLoss(model: conditional, x0: x, labels: nil) } throws: { "\($0)".contains("class-conditional") }
        // The null class (3) is a valid training label (label dropout).
        _ = try d.trainingLoss(model: conditional, x0: x, labels: [3, 0])
        let unconditional = AnalyticGaussianDenoiser(alphaBar: d.schedule.alphasCumprod, means: [0], std: 1)
        #expect { try d.trainingLoss(model: unconditional, x0: x, labels: [0, 0]) } throws: { "\($0)".contains("unconditional") }
        let learned = try GaussianDiffusion(.linear, steps: 1000, variance: .learnedRange)
        #expect { try learned.trainingLoss(model: unconditional, x0: x, labels: nil) } throws: { "\($0)".contains("predicts only ε") }
        let fixed = try GaussianDiffusion(.linear, steps: 1000, variance: .fixedLarge)
        #expect { try fixed.trainingLoss(model: conditional, x0: x, labels: [0, 0]) } throws: { "\($0)".contains("never train") }
        #expect {
            try d.trainingLosses(model: conditional, x0: x, labels: [0, 0], timesteps: [0, 1000])
        } throws: { "\($0)".contains("timestep 1000") }
    }
}
