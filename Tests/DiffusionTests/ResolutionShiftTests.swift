import Foundation
import Testing
@testable import AutoProg

@Suite(.serialized) struct ResolutionShiftTests {
    private func snr(_ abar: Double) -> Double { abar / (1 - abar) }

    @Test func snrScalingScalesEveryStepsSignalToNoiseRatio() throws {
        for base in [try NoiseSchedule(.linear, steps: 1000), try NoiseSchedule(.cosine, steps: 100)] {
            for factor in [0.25, 3.0625, 4.0] {
                let scaled = try base.snrScaled(by: factor)
                #expect(scaled.count == base.count)
                #expect(scaled.betas.allSatisfy { $0 > 0 && $0 <= 1 })
                for t in [0, 1, base.count / 2, base.count - 1] {
                    #expect(relativeError(snr(scaled.alphasCumprod[t]), factor * snr(base.alphasCumprod[t])) < 1e-9,
                            "factor \(factor), step \(t)")
                }
            }
            #expect(try base.snrScaled(by: 1) == base)
        }
        let linear = try NoiseSchedule(.linear, steps: 20)
        for bad in [0.0, -2, .nan, .infinity] {
            #expect { try linear.snrScaled(by: bad) } throws: { "\($0)".contains("positive and finite") }
        }
    }

    /// The reason for the shift: a noisy 16×16 image, area-averaged to 8×8, is (up to a
    /// scale) the 8×8 image noised by the 16 px process adapted to 8 px, with unit noise
    /// 2·D(ε). Checked per pixel, not just in distribution.
    @Test func anAveragedNoisyImageIsTheSmallerSizesNoisyImage() throws {
        let d = try GaussianDiffusion(.linear, steps: 1000, scheduleSide: 16)
        let x0 = Tensor.randn([2, 1, 16, 16], std: 0.5, purpose: .noise)
        let epsilon = Tensor.randn([2, 1, 16, 16], purpose: .noise)
        let t = [150, 600]
        let xt = try d.qSample(x0, timesteps: t, noise: epsilon)
        // At its own size the process is not shifted.
        let plain = try GaussianDiffusion(.linear, steps: 1000).qSample(x0, timesteps: t, noise: epsilon)
        #expect(xt.toArray() == plain.toArray())

        let average = { (x: Tensor) in try resize(x, height: 8, width: 8, mode: .area) }
        let small = try d.qSample(average(x0), timesteps: t, noise: average(epsilon) * 2)
        let abar = d.schedule.alphasCumprod
        let reduced = try average(xt).toArray(), expected = small.toArray()
        for b in 0..<2 {
            let scale = 1 / (abar[t[b]] + (1 - abar[t[b]]) / 4).squareRoot()
            for j in 0..<64 {
                #expect(Swift.abs(Double(reduced[b * 64 + j]) * scale - Double(expected[b * 64 + j])) < 1e-5)
            }
        }
    }

    @Test func lossAndSamplersUseTheScheduleOfTheImagesSize() throws {
        let d = try GaussianDiffusion(.linear, steps: 1000, scheduleSide: 16)
        let plain = try GaussianDiffusion(.linear, steps: 1000)
        let quarter = GaussianDiffusion(schedule: try plain.schedule.snrScaled(by: 4))
        #expect(try d.adapted(height: 8, width: 8).schedule == quarter.schedule)
        #expect(try d.adapted(height: 16, width: 16).schedule == plain.schedule)
        #expect(try d.adapted(height: 8, width: 8).scheduleSide == nil)
        let model = AnalyticGaussianDenoiser(alphaBar: closedFormLinearAlphaBar(steps: 1000), means: [0.3], std: 0.2)

        let x0 = Tensor.randn([3, 1, 8, 8], mean: 0.3, std: 0.2, purpose: .noise)
        let noise = Tensor.randn([3, 1, 8, 8], purpose: .noise)
        let loss = { (p: GaussianDiffusion) in
            try p.trainingLosses(model: model, x0: x0, labels: nil, timesteps: [10, 400, 900], noise: noise).loss.item()
        }
        #expect(try loss(d) == loss(quarter))
        #expect(try loss(d) != loss(plain))

        let options = SamplingOptions(sampler: .ddim(eta: 0), spacing: "ddim20", clipDenoised: false, seed: 3, batchSize: 8)
        let sample = { (p: GaussianDiffusion, side: Int) in
            try p.sample(model: model, count: 4, labels: nil, height: side, width: side, options: options).toArray()
        }
        #expect(try sample(d, 8) == sample(quarter, 8))
        #expect(try sample(d, 8) != sample(plain, 8))
        #expect(try sample(d, 16) == sample(plain, 16))
    }
}
