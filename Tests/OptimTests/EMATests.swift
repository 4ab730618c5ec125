import Foundation
import Testing
@testable import AutoProg

@Suite struct EMATests {
    private func model() -> Sequential {
        Random.manualSeed(1)
        return Sequential([Linear(3, 4), Linear(4, 2)])
    }

    private func set(_ m: Module, _ value: Float) {
        for p in m.parameters { p.value.pointer.update(repeating: value, count: p.count) }
    }

    /// Two decays at once: from 0 towards weights 1 then 3, ema = d·ema + (1 − d)·p per update.
    @Test func averagesWithSeveralDecays() throws {
        let m = model()
        set(m, 0)
        let ema = try EMA(model: m, decays: [0.5, 0.9])
        set(m, 1)
        try ema.update()
        set(m, 3)
        try ema.update()
        // decay 0.5: 0.5, then 0.25 + 1.5 = 1.75; decay 0.9: 0.1, then 0.09 + 0.3 = 0.39.
        for (k, expected) in [(0, Float(1.75)), (1, Float(0.39))] {
            for (name, t) in try ema.weights(decayIndex: k) {
                #expect(t.toArray().allSatisfy { abs($0 - expected) < 1e-6 }, "\(name) decay \(k)")
            }
        }
        #expect(ema.updateCount == 2)
        #expect(m.parameters.allSatisfy { $0.value.toArray().allSatisfy { $0 == 3 } })
    }

    /// timm ModelEmaV3 warm-up: d(t) = clamp(1 − (1 + t/γ)^(−power), minDecay, decay).
    @Test func warmupDecay() throws {
        let ema = try EMA(model: model(), decays: [0.999, 0.5], warmup: .init(gamma: 1, power: 0.75, minDecay: 0.1))
        #expect(abs(ema.decay(at: 1, index: 0) - Float(1 - pow(2.0, -0.75))) < 1e-7)
        #expect(abs(ema.decay(at: 10, index: 0) - Float(1 - pow(11.0, -0.75))) < 1e-7)
        #expect(ema.decay(at: 1_000_000, index: 0) == 0.999)
        #expect(ema.decay(at: 100, index: 1) == 0.5)
        #expect(ema.decay(at: 0, index: 0) == 0.1)
        let plain = try EMA(model: model(), decays: [0.9])
        #expect(plain.decay(at: 1, index: 0) == 0.9)
    }

    /// Evaluating with EMA weights: `swapped` puts them in and restores the trained ones,
    /// `copy(into:)` writes them into another instance.
    @Test func swappedAndCopyInto() throws {
        let m = model()
        set(m, 2)
        let ema = try EMA(model: m, decays: [0.5])
        set(m, 4)
        try ema.update()
        let x = Tensor.ones([1, 3])
        let withEMA = try ema.swapped { try Autograd.withoutGradients { try m(x) } }
        let other = model()
        try ema.copy(into: other, decayIndex: 0)
        #expect(other.parameters.allSatisfy { $0.value.toArray().allSatisfy { $0 == 3 } })
        #expect(try Autograd.withoutGradients { try other(x) }.toArray() == withEMA.toArray())
        #expect(m.parameters.allSatisfy { $0.value.toArray().allSatisfy { $0 == 4 } })
        struct Failure: Error {}
        #expect(throws: Failure.self) { try ema.swapped { throw Failure() } }
        #expect(m.parameters.allSatisfy { $0.value.toArray().allSatisfy { $0 == 4 } })
        #expect(throws: OptimizerError.self) { try ema.copy(into: Linear(3, 4), decayIndex: 0) }
        #expect(throws: OptimizerError.self) { try ema.copy(into: other, decayIndex: 1) }
    }

    @Test func assignFromAnotherInstance() throws {
        let m = model(), grown = model()
        set(grown, 7)
        let ema = try EMA(model: m, decays: [0.9, 0.99])
        try ema.assign(from: grown, decayIndex: 1)
        #expect(try ema.weights(decayIndex: 1).values.allSatisfy { $0.toArray().allSatisfy { $0 == 7 } })
        #expect(try ema.weights(decayIndex: 0)["0.weight"]!.toArray() == m.parameters[0].value.toArray())
    }

    /// After the model's parameters are re-packed into a new buffer the averages follow;
    /// after the parameter set changes, the EMA refuses to guess.
    @Test func followsRepackingAndRejectsGrowth() throws {
        let m = model()
        set(m, 1)
        let ema = try EMA(model: m, decays: [0.5])
        set(m, 3)
        ParameterPacking.pack([try Support.parameter([9], [1])] + m.parameters)
        try ema.update()
        #expect(try ema.weights(decayIndex: 0).values.allSatisfy { $0.toArray().allSatisfy { $0 == 2 } })
        m.append(Linear(2, 2))
        #expect(throws: OptimizerError.self) { try ema.update() }
    }

    @Test func invalidConfigurationThrows() throws {
        #expect(throws: OptimizerError.self) { try EMA(model: model(), decays: []) }
        #expect(throws: OptimizerError.self) { try EMA(model: model(), decays: [1.5]) }
        #expect(throws: OptimizerError.self) { try EMA(model: Module(), decays: [0.9]) }
    }
}
