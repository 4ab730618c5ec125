import Foundation
@testable import AutoProg

/// ᾱ_t of the linear schedule of `steps` steps, computed here from the closed form
/// (β linear from 1e-4·1000/T to 0.02·1000/T), independently of NoiseSchedule.
func closedFormLinearAlphaBar(steps: Int) -> [Double] {
    let scale = 1000.0 / Double(steps)
    let lo = 1e-4 * scale, hi = 0.02 * scale
    var product = 1.0
    return (0..<steps).map { i in
        product *= 1 - (lo + (hi - lo) * Double(i) / Double(steps - 1))
        return product
    }
}

/// The exact ε-predictor for data x_0 ~ N(μ, σ²) (each element independent):
/// E[ε | x_t] = √(1−ᾱ)(x_t − √ᾱ μ)/(ᾱσ² + 1 − ᾱ), with ᾱ looked up at the ORIGINAL step
/// the sampler passes (so a wrong timestep map gives wrong samples).
///
/// Class-conditional when `means` has more than one entry: label y uses means[y]; the
/// last entry belongs to the null class. With `learnsSigma` it also returns constant
/// variance values v (`varianceValue`, or per label from `varianceByLabel`).
final class AnalyticGaussianDenoiser: Denoiser {
    let alphaBar: [Double]
    let means: [Float]
    let std: Float
    let learnsSigma: Bool
    var varianceValue: Float = 0
    var varianceByLabel: [Float]?
    /// Every call's (batch size, timesteps, labels).
    private(set) var calls: [(batch: Int, timesteps: [Float], labels: [Int]?)] = []
    /// Return NaN from this original timestep on down.
    var nanBelowTimestep: Float?

    init(alphaBar: [Double], means: [Float], std: Float, learnsSigma: Bool = false) {
        self.alphaBar = alphaBar
        self.means = means
        self.std = std
        self.learnsSigma = learnsSigma
    }

    var imageChannels: Int { 1 }
    var nullClass: Int? { means.count > 1 ? means.count - 1 : nil }

    func denoise(_ x: Tensor, timesteps: Tensor, labels: [Int]?) throws -> Tensor {
        let t = timesteps.toArray()
        calls.append((x.shape[0], t, labels))
        let b = x.shape[0], per = x.count / b
        let xs = x.contiguous()
        let out = Tensor(uninitializedShape: [b, learnsSigma ? 2 : 1] + x.shape.dropFirst(2))
        for i in 0..<b {
            let step = Int(t[i])
            precondition(Float(step) == t[i], "timestep \(t[i]) is not integral")
            let a = alphaBar[step]
            let mu = Double(means[labels?[i] ?? 0])
            let s2 = Double(std) * Double(std)
            let gain = (1 - a).squareRoot() / (a * s2 + 1 - a)
            let poisoned = nanBelowTimestep.map { t[i] <= $0 } ?? false
            let row = out.pointer + i * per * (learnsSigma ? 2 : 1)
            for j in 0..<per {
                row[j] = poisoned ? .nan : Float(gain * (Double(xs.pointer[i * per + j]) - a.squareRoot() * mu))
            }
            if learnsSigma {
                let v = varianceByLabel.map { $0[labels?[i] ?? 0] } ?? varianceValue
                for j in 0..<per { row[per + j] = v }
            }
        }
        return out
    }
}

/// A denoiser whose ε is already guided: ε_u + s(ε_c − ε_u) of an analytic one, with
/// the variance values of the conditional label. Plain sampling with it must equal
/// guided sampling of the analytic model.
final class PreGuidedDenoiser: Denoiser {
    let base: AnalyticGaussianDenoiser
    let scale: Float
    init(_ base: AnalyticGaussianDenoiser, scale: Float) {
        self.base = base
        self.scale = scale
    }

    var imageChannels: Int { 1 }
    var learnsSigma: Bool { base.learnsSigma }
    var nullClass: Int? { base.nullClass }

    func denoise(_ x: Tensor, timesteps: Tensor, labels: [Int]?) throws -> Tensor {
        let null = [Int](repeating: base.nullClass!, count: x.shape[0])
        let c = try base.denoise(x, timesteps: timesteps, labels: labels)
        let u = try base.denoise(x, timesteps: timesteps, labels: null)
        let ec = try c.sliced(axis: 1, 0..<1), eu = try u.sliced(axis: 1, 0..<1)
        let guided = try eu + (ec - eu) * scale
        return learnsSigma ? try Tensor.concatenated([guided, c.sliced(axis: 1, 1..<2)], axis: 1) : guided
    }
}

/// The toy ε of make_diffusion.py: 0.5·tanh(x) + 0.1·t/1000, t the original step.
final class ToyEpsilonDenoiser: Denoiser {
    let imageChannels: Int
    init(channels: Int) { imageChannels = channels }
    var learnsSigma: Bool { false }
    var nullClass: Int? { nil }

    func denoise(_ x: Tensor, timesteps: Tensor, labels: [Int]?) throws -> Tensor {
        let t = try timesteps.reshaped([x.shape[0], 1, 1, 1])
        return try tanh(x) * 0.5 + t / 1000 * 0.1
    }
}

/// Returns a given output whatever its input (for golden loss terms and gradient routing).
final class FixedOutputDenoiser: Denoiser {
    let output: Tensor
    let imageChannels: Int
    let learnsSigma: Bool
    init(output: Tensor, channels: Int, learnsSigma: Bool) {
        self.output = output
        imageChannels = channels
        self.learnsSigma = learnsSigma
    }

    var nullClass: Int? { nil }
    func denoise(_ x: Tensor, timesteps: Tensor, labels: [Int]?) throws -> Tensor { output }
}

/// A small real network: conv → + time and class embeddings → SiLU → conv, predicting ε
/// (and v with `learnsSigma`). Records whether it ran in training mode.
final class TinyConvDenoiser: Module, Denoiser {
    let inConv: Conv2d, outConv: Conv2d, time: Linear, classes: Embedding
    let imageChannels: Int, learnsSigma: Bool, classCount: Int, width: Int
    private(set) var modesSeen: [Bool] = []

    init(channels: Int, classes: Int, width: Int = 8, learnsSigma: Bool) {
        imageChannels = channels
        self.learnsSigma = learnsSigma
        classCount = classes
        self.width = width
        inConv = Conv2d(channels, width, kernelSize: 3, padding: 1)
        outConv = Conv2d(width, channels * (learnsSigma ? 2 : 1), kernelSize: 3, padding: 1)
        time = Linear(16, width)
        self.classes = Embedding(count: classes + 1, dimension: width)
        super.init()
        register("in_conv", inConv)
        register("out_conv", outConv)
        register("time", time)
        register("classes", self.classes)
    }

    var nullClass: Int? { classCount }

    func denoise(_ x: Tensor, timesteps: Tensor, labels: [Int]?) throws -> Tensor {
        modesSeen.append(isTraining)
        let b = x.shape[0]
        var condition = try time(timestepEmbedding(timesteps, dimension: 16))
        if let labels { condition = try condition + classes(labels) }
        let h = try inConv(x) + condition.reshaped([b, width, 1, 1])
        return try outConv(silu(h))
    }
}

/// The golden values written by Fixtures/make_diffusion.py.
enum DiffusionFixture {
    static let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/diffusion_reference.json")

    nonisolated(unsafe) static let reference: [String: Any] = {
        let data = try! Data(contentsOf: url)
        return try! JSONSerialization.jsonObject(with: data) as! [String: Any]
    }()

    static func table(_ path: String...) -> [String: Any] {
        var node: Any = reference
        for key in path { node = (node as! [String: Any])[key]! }
        return node as! [String: Any]
    }

    static func doubles(_ value: Any?) -> [Double] { (value as! [NSNumber]).map(\.doubleValue) }
    static func floats(_ value: Any?) -> [Float] { (value as! [NSNumber]).map(\.floatValue) }
    static func ints(_ value: Any?) -> [Int] { (value as! [NSNumber]).map(\.intValue) }
}

/// Mean and (population) standard deviation in Double.
func statistics(_ t: Tensor) -> (mean: Double, std: Double) {
    let v = t.toArray().map(Double.init)
    let mean = v.reduce(0, +) / Double(v.count)
    let variance = v.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(v.count)
    return (mean, variance.squareRoot())
}

func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
    zip(a, b).map { Swift.abs($0 - $1) }.max() ?? 0
}

/// Relative error |a − b| / max(|b|, tiny).
func relativeError(_ a: Double, _ b: Double) -> Double {
    Swift.abs(a - b) / Swift.max(Swift.abs(b), 1e-300)
}
