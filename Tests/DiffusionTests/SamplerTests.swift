import Foundation
import Testing
@testable import AutoProg

/// The exact output distribution (mean, std per element) of a sampler run with the exact
/// ε of N(μ, σ²) data from x_T ~ N(0, 1): every step is affine in x_t, so mean and
/// variance follow in closed form. Computed here from ᾱ at the kept steps, in Double.
private func exactOutput(alphaBar: [Double], mu: Double, sigma: Double, ddpm: Bool, largeVariance: Bool = true) -> (Double, Double) {
    var m = 0.0, v = 1.0
    for k in stride(from: alphaBar.count - 1, through: 0, by: -1) {
        let a = alphaBar[k], aPrev = k > 0 ? alphaBar[k - 1] : 1
        let g = (1 - a).squareRoot() / (a * sigma * sigma + 1 - a)
        // x̂0 = p·x + q
        let p = (1 - (1 - a).squareRoot() * g) / a.squareRoot(), q = (1 - a).squareRoot() * g * mu
        let A: Double, B: Double
        var noise = 0.0
        if ddpm {
            let beta = 1 - a / aPrev
            let c1 = beta * aPrev.squareRoot() / (1 - a), c2 = (1 - aPrev) * (1 - beta).squareRoot() / (1 - a)
            A = c1 * p + c2
            B = c1 * q
            if k > 0 { noise = largeVariance ? beta : beta * (1 - aPrev) / (1 - a) }
        } else {
            // ε̂ = g·x − g√a·μ; x' = √a'·x̂0 + √(1−a')·ε̂.
            A = aPrev.squareRoot() * p + (1 - aPrev).squareRoot() * g
            B = aPrev.squareRoot() * q - (1 - aPrev).squareRoot() * g * a.squareRoot() * mu
        }
        m = A * m + B
        v = A * A * v + noise
    }
    return (m, v.squareRoot())
}

@Suite(.serialized) struct SamplerTests {
    static let alphaBar = closedFormLinearAlphaBar(steps: 1000)
    static let (mu, sigma): (Float, Float) = (0.3, 0.2)

    static func gaussianModel(learnsSigma: Bool = false) -> AnalyticGaussianDenoiser {
        AnalyticGaussianDenoiser(alphaBar: alphaBar, means: [mu], std: sigma, learnsSigma: learnsSigma)
    }

    static func options(_ sampler: SamplerKind, _ spacing: String?, seed: UInt64 = 1, clip: Bool = false) -> SamplingOptions {
        SamplingOptions(sampler: sampler, spacing: spacing, clipDenoised: clip, seed: seed, batchSize: 64)
    }

    @Test func ddimFollowsTheExactAffineMapOfGaussianData() throws {
        let d = try GaussianDiffusion(.linear, steps: 1000)
        let model = SamplerTests.gaussianModel()
        let x = try d.sample(model: model, count: 64, labels: nil, height: 8, width: 8,
                             options: SamplerTests.options(.ddim(eta: 0), "ddim20"))
        #expect(x.shape == [64, 1, 8, 8] && !x.requiresGrad)
        let kept = stride(from: 0, to: 1000, by: 50).map { SamplerTests.alphaBar[$0] }
        let (m, s) = exactOutput(alphaBar: kept, mu: 0.3, sigma: 0.2, ddpm: false)
        let (mean, std) = statistics(x)
        #expect(Swift.abs(mean - m) < 4 * s / 64, "mean \(mean) vs \(m)")
        #expect(Swift.abs(std - s) < 0.05 * s, "std \(std) vs \(s)")
        // The model saw the ORIGINAL step numbers, in descending order.
        #expect(model.calls.map { $0.timesteps[0] } == stride(from: 950, through: 0, by: -50).map(Float.init))
    }

    @Test func ddimWithManyStepsSamplesTheDataDistribution() throws {
        let d = try GaussianDiffusion(.linear, steps: 1000)
        let x = try d.sample(model: SamplerTests.gaussianModel(), count: 64, labels: nil, height: 8, width: 8,
                             options: SamplerTests.options(.ddim(eta: 0), "250"))
        let (mean, std) = statistics(x)
        #expect(Swift.abs(mean - 0.3) < 4 * 0.2 / 64, "mean \(mean)")
        #expect(Swift.abs(std - 0.2) < 0.05 * 0.2, "std \(std)")
        // η = 1 is stochastic but samples the same distribution.
        let y = try d.sample(model: SamplerTests.gaussianModel(), count: 64, labels: nil, height: 8, width: 8,
                             options: SamplerTests.options(.ddim(eta: 1), "250"))
        let (ym, ys) = statistics(y)
        #expect(Swift.abs(ym - 0.3) < 4 * 0.2 / 64 && Swift.abs(ys - 0.2) < 0.06 * 0.2, "eta 1: \(ym) \(ys)")
    }

    @Test func ddpmFollowsTheExactMapOfGaussianData() throws {
        for (spacing, large) in [("ddim20", true), ("ddim20", false), (nil, true)] as [(String?, Bool)] {
            let variance: GaussianDiffusion.Variance = large ? .fixedLarge : .fixedSmall
            let process = try GaussianDiffusion(.linear, steps: 1000, variance: variance)
            let x = try process.sample(model: SamplerTests.gaussianModel(), count: 64, labels: nil, height: 8, width: 8,
                                       options: SamplerTests.options(.ddpm, spacing))
            let kept = spacing == nil ? SamplerTests.alphaBar : stride(from: 0, to: 1000, by: 50).map { SamplerTests.alphaBar[$0] }
            let (m, s) = exactOutput(alphaBar: kept, mu: 0.3, sigma: 0.2, ddpm: true, largeVariance: large)
            let (mean, std) = statistics(x)
            #expect(Swift.abs(mean - m) < 4 * s / 64, "\(spacing ?? "all") \(variance): mean \(mean) vs \(m)")
            #expect(Swift.abs(std - s) < 0.05 * s, "\(spacing ?? "all") \(variance): std \(std) vs \(s)")
            if spacing == nil {
                // All 1000 steps: the data distribution itself.
                #expect(Swift.abs(mean - 0.3) < 0.01 && Swift.abs(std - 0.2) < 0.012, "\(mean) \(std)")
            }
        }
    }

    @Test func learnedRangeEndsAreTheFixedVariances() throws {
        let d = try GaussianDiffusion(.linear, steps: 1000)
        for (v, variance) in [(Float(1), GaussianDiffusion.Variance.fixedLarge), (-1, .fixedSmall)] {
            let learned = SamplerTests.gaussianModel(learnsSigma: true)
            learned.varianceValue = v
            let a = try d.sample(model: learned, count: 4, labels: nil, height: 4, width: 4,
                                 options: SamplerTests.options(.ddpm, "ddim25", seed: 9))
            let fixed = try GaussianDiffusion(.linear, steps: 1000, variance: variance)
            let b = try fixed.sample(model: SamplerTests.gaussianModel(), count: 4, labels: nil, height: 4, width: 4,
                                     options: SamplerTests.options(.ddpm, "ddim25", seed: 9))
            #expect(maxAbsDifference(a.toArray(), b.toArray()) < 1e-5, "v = \(v)")
        }
    }

    @Test func ddimInversionReconstructs() throws {
        // Encode-then-decode is affine on Gaussian data; its exact coefficients follow from
        // the DDIM formulas in Double. DDIM is first order: the round trip's error halves
        // when the step count doubles.
        let d = try GaussianDiffusion(.linear, steps: 1000)
        let model = SamplerTests.gaussianModel()
        var stream = RandomStream(seed: 4, purpose: "data")
        let x0 = Tensor(uninitializedShape: [8, 1, 6, 6])
        stream.fillNormal(x0.pointer, count: x0.count, mean: 0.3, std: 0.2)
        var errors: [Float] = []
        for stride in [2, 1] {
            let options = SamplerTests.options(.ddim(eta: 0), "ddim\(1000 / stride)")
            let xT = try d.encode(model: model, images: x0, labels: nil, options: options)
            let back = try d.decode(model: model, noise: xT, labels: nil, options: options)
            let kept = Swift.stride(from: 0, to: 1000, by: stride).map { SamplerTests.alphaBar[$0] }
            let (a, b) = roundTrip(alphaBar: kept, mu: 0.3, sigma: 0.2)
            let expected = x0.toArray().map { Float(a * Double($0) + b) }
            #expect(maxAbsDifference(back.toArray(), expected) < 1e-4, "stride \(stride)")
            errors.append(maxAbsDifference(back.toArray(), x0.toArray()))
            let (m, s) = statistics(xT)
            #expect(Swift.abs(m) < 0.25 && Swift.abs(s - 1) < 0.25, "latents \(m) \(s)")
        }
        #expect(errors[1] < 0.02 && errors[1] < 0.6 * errors[0], "round-trip errors \(errors)")
        #expect { try d.encode(model: model, images: x0, labels: nil, options: SamplerTests.options(.ddpm, nil)) } throws: {
            "\($0)".contains("eta = 0")
        }
    }

    /// x ↦ a·x + b of DDIM inversion followed by DDIM decoding with the exact ε of N(μ, σ²).
    private func roundTrip(alphaBar: [Double], mu: Double, sigma: Double) -> (Double, Double) {
        var a = 1.0, b = 0.0
        // One DDIM move from ᾱ_from to ᾱ_to is x' = A·x + B.
        func move(_ from: Double, _ to: Double) {
            let g = (1 - from).squareRoot() / (from * sigma * sigma + 1 - from)
            let p = (1 - (1 - from).squareRoot() * g) / from.squareRoot(), q = (1 - from).squareRoot() * g * mu
            let A = to.squareRoot() * p + (1 - to).squareRoot() * g
            let B = to.squareRoot() * q - (1 - to).squareRoot() * g * from.squareRoot() * mu
            (a, b) = (A * a, A * b + B)
        }
        for k in alphaBar.indices { move(alphaBar[k], k + 1 < alphaBar.count ? alphaBar[k + 1] : 0) }
        for k in alphaBar.indices.reversed() { move(alphaBar[k], k > 0 ? alphaBar[k - 1] : 1) }
        return (a, b)
    }

    @Test func ddimMatchesTheReferenceSteps() throws {
        let ref = DiffusionFixture.table("ddim10")
        let shape = DiffusionFixture.ints(ref["shape"])
        let xT = try Tensor(DiffusionFixture.floats(ref["xT"]), shape: shape)
        let d = try GaussianDiffusion(.linear, steps: 1000)
        let model = ToyEpsilonDenoiser(channels: shape[1])
        for (key, clip) in [("noclip", false), ("clip", true)] {
            let x = try d.decode(model: model, noise: xT, labels: nil, options: SamplerTests.options(.ddim(eta: 0), "ddim10", clip: clip))
            let expected = DiffusionFixture.floats(ref[key])
            let scale = expected.map { Swift.abs($0) }.max()!
            #expect(maxAbsDifference(x.toArray(), expected) < 1e-5 * Swift.max(1, scale), "\(key)")
        }
    }

    @Test func samplingIsDeterministicPerSeedAndLeavesTheGlobalStreamsAlone() throws {
        let d = try GaussianDiffusion(.cosine, steps: 100)
        let model = SamplerTests.gaussianModel()
        let before = Random.state
        let a = try d.sample(model: model, count: 6, labels: nil, height: 4, width: 4, options: SamplerTests.options(.ddpm, "20", seed: 3))
        let b = try d.sample(model: model, count: 6, labels: nil, height: 4, width: 4, options: SamplerTests.options(.ddpm, "20", seed: 3))
        let c = try d.sample(model: model, count: 6, labels: nil, height: 4, width: 4, options: SamplerTests.options(.ddpm, "20", seed: 4))
        #expect(a.toArray() == b.toArray())
        #expect(maxAbsDifference(a.toArray(), c.toArray()) > 0.01)
        #expect(Random.state == before)
        let e1 = try d.sample(model: model, count: 6, labels: nil, height: 4, width: 4, options: SamplerTests.options(.ddim(eta: 0), "20"))
        let e2 = try d.sample(model: model, count: 6, labels: nil, height: 4, width: 4, options: SamplerTests.options(.ddim(eta: 0), "20"))
        #expect(e1.toArray() == e2.toArray())
        // An image does not depend on the batching: the first 3 of 6 are the 3 of a run of 3.
        var small = SamplerTests.options(.ddpm, "20", seed: 3)
        small.batchSize = 4
        let chunked = try d.sample(model: model, count: 6, labels: nil, height: 4, width: 4, options: small)
        let three = try d.sample(model: model, count: 3, labels: nil, height: 4, width: 4, options: SamplerTests.options(.ddpm, "20", seed: 3))
        #expect(chunked.toArray() == a.toArray())
        #expect(three.toArray() == Array(a.toArray().prefix(48)))
    }

    @Test func guidanceCombinesTheTwoHalvesOfOneBatch() throws {
        let d = try GaussianDiffusion(.linear, steps: 1000)
        func model() -> AnalyticGaussianDenoiser {
            let m = AnalyticGaussianDenoiser(alphaBar: SamplerTests.alphaBar, means: [-0.5, 0.5, 0], std: 0.2, learnsSigma: true)
            m.varianceByLabel = [0.5, 0.8, -0.7]
            return m
        }
        let labels = [0, 1, 1, 0]
        var options = SamplerTests.options(.ddpm, "ddim20", seed: 2)
        options.guidanceScale = 3
        let guidedModel = model()
        let guided = try d.sample(model: guidedModel, count: 4, labels: labels, height: 4, width: 4, options: options)
        // One forward per step over [x; x] with labels [y; null].
        #expect(guidedModel.calls.count == 20)
        #expect(guidedModel.calls.allSatisfy { $0.batch == 8 && $0.labels! == labels + [2, 2, 2, 2] })
        options.guidanceScale = 1
        let reference = try d.sample(model: PreGuidedDenoiser(model(), scale: 3), count: 4, labels: labels, height: 4, width: 4,
                                     options: options)
        #expect(maxAbsDifference(guided.toArray(), reference.toArray()) < 1e-5)

        // Scale 1 is plain conditional sampling (no null half); scale 0 is unconditional.
        let plainModel = model()
        let plain = try d.sample(model: plainModel, count: 4, labels: labels, height: 4, width: 4, options: options)
        #expect(plainModel.calls.allSatisfy { $0.batch == 4 && $0.labels! == labels })
        let again = try d.sample(model: model(), count: 4, labels: labels, height: 4, width: 4, options: options)
        #expect(plain.toArray() == again.toArray())
        options.guidanceScale = 0
        let zero = try d.sample(model: model(), count: 4, labels: labels, height: 4, width: 4, options: options)
        options.guidanceScale = 1
        // ε = ε_u exactly; the variance still comes from the conditional half.
        let reference0 = try d.sample(model: PreGuidedDenoiser(model(), scale: 0), count: 4, labels: labels, height: 4, width: 4,
                                      options: options)
        #expect(maxAbsDifference(zero.toArray(), reference0.toArray()) < 1e-6)
        // Class means −0.5 and 0.5 pull the guided samples apart beyond the conditional ones.
        let (plainSpread, guidedSpread) = (try spread(plain, labels), try spread(guided, labels))
        #expect(guidedSpread > plainSpread + 0.5, "\(plainSpread) → \(guidedSpread)")
    }

    private func spread(_ x: Tensor, _ labels: [Int]) throws -> Double {
        let per = x.count / labels.count, v = x.toArray()
        var sums = [0.0, 0.0], counts = [0.0, 0.0]
        for (i, y) in labels.enumerated() {
            sums[y] += v[(i * per)..<((i + 1) * per)].reduce(0) { $0 + Double($1) }
            counts[y] += Double(per)
        }
        return sums[1] / counts[1] - sums[0] / counts[0]
    }

    @Test func modelRunsInEvaluationModeWithoutGradientsAndProgressIsReported() throws {
        let d = try GaussianDiffusion(.linear, steps: 100)
        let model = TinyConvDenoiser(channels: 1, classes: 3, learnsSigma: true)
        model.train()
        var reports: [(Int, Int)] = []
        var options = SamplerTests.options(.ddpm, "5", clip: true)
        options.batchSize = 4
        options.progress = { reports.append(($0, $1)) }
        let x = try d.sample(model: model, count: 10, labels: Array(repeating: 1, count: 10), height: 5, width: 5, options: options)
        #expect(x.shape == [10, 1, 5, 5] && !x.requiresGrad)
        // The last DDPM step returns the clipped x̂_0 itself (c1 = 1, c2 = 0 at t = 0).
        #expect(x.toArray().allSatisfy { $0 >= -1 && $0 <= 1 })
        #expect(model.modesSeen.count == 15 && model.modesSeen.allSatisfy { !$0 })
        #expect(model.isTraining && model.inConv.isTraining)
        #expect(reports.count == 15 && reports.last! == (15, 15) && reports.map(\.0) == Array(1...15))
        // A throwing progress callback stops sampling.
        options.progress = { done, _ in if done == 2 { throw DiffusionError("stop") } }
        #expect { try d.sample(model: model, count: 2, labels: [0, 1], height: 5, width: 5, options: options) } throws: { "\($0)" == "stop" }
        #expect(model.isTraining)
    }

    @Test func nonFiniteValuesNameTheStep() throws {
        let d = try GaussianDiffusion(.linear, steps: 1000)
        let model = SamplerTests.gaussianModel()
        model.nanBelowTimestep = 500
        #expect {
            try d.sample(model: model, count: 2, labels: nil, height: 4, width: 4, options: SamplerTests.options(.ddim(eta: 0), "ddim10"))
        } throws: { "\($0)".contains("step 5 of 10") && "\($0)".contains("timestep 500") && "\($0)".contains("NaN") }
    }

    @Test func badSamplingInputsAreErrors() throws {
        let d = try GaussianDiffusion(.linear, steps: 1000)
        let conditional = AnalyticGaussianDenoiser(alphaBar: SamplerTests.alphaBar, means: [0, 1, 0.5], std: 0.2)
        let unconditional = SamplerTests.gaussianModel()
        func sample(_ model: any Denoiser = conditional, count: Int = 2, labels: [Int]? = [0, 1], size: Int = 4,
                    _ change: (inout SamplingOptions) -> Void = { _ in }) throws -> Tensor {
            var o = SamplerTests.options(.ddim(eta: 0), "ddim10")
            change(&o)
            return try d.sample(model: model, count: count, labels: labels, height: size, width: size, options: o)
        }
        #expect { try sample { $0.guidanceScale = -0.5 } } throws: { "\($0)".contains("must be ≥ 0") }
        #expect { try sample { $0.guidanceScale = .nan } } throws: { "\($0)".contains("must be ≥ 0") }
        #expect { try sample { $0.sampler = .ddim(eta: 1.5) } } throws: { "\($0)".contains("eta must be in [0, 1]") }
        #expect { try sample { $0.batchSize = 0 } } throws: { "\($0)".contains("batch size") }
        #expect { try sample { $0.spacing = "0" } } throws: { "\($0)".contains("zero steps") }
        #expect { try sample { $0.spacing = "ddim999" } } throws: { "\($0)".contains("integer stride") }
        #expect { try SamplerKind.named("euler") } throws: { "\($0)".contains("unknown sampler \"euler\"") }
        #expect { try sample(labels: [0, 3]) } throws: { "\($0)".contains("class 3") && "\($0)".contains("2 classes") }
        _ = try sample(labels: [0, 2])  // the null class: unconditional images
        #expect { try sample(labels: [0]) } throws: { "\($0)".contains("1 labels for 2 images") }
        #expect { try sample(labels: nil) } throws: { "\($0)".contains("class-conditional") }
        #expect { try sample(unconditional, labels: [0, 0]) } throws: { "\($0)".contains("unconditional") }
        #expect { try sample(unconditional, labels: nil) { $0.guidanceScale = 4 } } throws: { "\($0)".contains("class-conditional model") }
        #expect { try sample(count: 0, labels: []) } throws: { "\($0)".contains("positive number of images") }
        #expect { try sample(size: 0) } throws: { "\($0)".contains("must be positive") }
        let sized = SizedDenoiser()
        #expect { try sample(sized, labels: nil, size: 6) } throws: { "\($0)".contains("6×6") && "\($0)".contains("8×8") }
        _ = try sample(sized, labels: nil, size: 8)
        #expect {
            try d.decode(model: unconditional, noise: Tensor.zeros([2, 3, 4, 4]), labels: nil, options: SamplerTests.options(.ddpm, "5"))
        } throws: { "\($0)".contains("3 channels") && "\($0)".contains("takes 1") }
        let learned = try GaussianDiffusion(.linear, steps: 1000, variance: .learnedRange)
        #expect {
            try learned.sample(model: unconditional, count: 1, labels: nil, height: 4, width: 4, options: SamplerTests.options(.ddpm, "5"))
        } throws: { "\($0)".contains("predicts only ε") }
        #expect { try GaussianDiffusion(.linear, steps: 0) } throws: { "\($0)".contains("steps > 0") }
    }
}

/// A denoiser fixed to 8×8 images.
private final class SizedDenoiser: FixedSizeDenoiser {
    var imageChannels: Int { 1 }
    var learnsSigma: Bool { false }
    var nullClass: Int? { nil }
    var inputSize: Int { 8 }
    func denoise(_ x: Tensor, timesteps: Tensor, labels: [Int]?) throws -> Tensor { Tensor.zeros(x.shape) }
}
