import Testing
@testable import AutoProg

/// Export → import into fresh objects → identical continuation, and clear errors on
/// state that does not fit.
@Suite struct OptimizerStateTests {
    private func parameters(frozenLast: Bool = true) throws -> [Parameter] {
        try [
            Support.parameter(Support.values(35, seed: 1), [5, 7]),
            Support.parameter(Support.values(5, seed: 2), [5]),
            Support.parameter(Support.values(6, seed: 3), [2, 3], requiresGrad: !frozenLast),
        ]
    }

    private func setGrads(_ ps: [Parameter], step: Int) {
        for (i, p) in ps.enumerated() { Support.setGrad(p, Support.values(p.count, seed: UInt64(1000 * step + i))) }
    }

    /// Copies values and saved state tensors so the original keeps running independently
    /// (as a checkpoint written to disk would).
    private func cloned(_ s: SavedState) -> SavedState {
        var t = StateDict()
        for (k, v) in s.tensors { t[k] = v.clone() }
        return SavedState(tensors: t, metadata: s.metadata)
    }

    private func resumesBitExactly(_ make: ([Parameter]) throws -> any Optimizer) throws {
        let original = try parameters()
        let a = try make(original)
        for step in 0..<3 {
            a.learningRate = Float(step + 1) * 1e-2
            setGrads(original, step: step)
            try a.step()
        }
        let saved = cloned(a.stateDict())
        let resumed = try parameters()
        for (p, q) in zip(resumed, original) { try p.assign(q.value) }
        let b = try make(resumed)
        b.learningRate = 123
        try b.load(saved)
        #expect(b.stepCount == 3 && b.learningRate == a.learningRate)
        for step in 3..<6 {
            // Unfreeze the last parameter midway: its fresh state must match too.
            if step == 4 { original[2].requiresGrad = true; resumed[2].requiresGrad = true }
            setGrads(original, step: step)
            setGrads(resumed, step: step)
            try a.step()
            try b.step()
            for (p, q) in zip(resumed, original) { #expect(p.value.toArray() == q.value.toArray()) }
        }
        let sa = a.stateDict(), sb = b.stateDict()
        #expect(sa.metadata == sb.metadata)
        #expect(sa.tensors.keys == sb.tensors.keys)
        for (k, t) in sa.tensors { #expect(sb.tensors[k]!.toArray() == t.toArray(), "\(k)") }
    }

    @Test func adamWResumesBitExactly() throws {
        try resumesBitExactly { try AdamW(parameters: $0, betas: (0.85, 0.995), epsilon: 1e-7, weightDecay: 0.03) }
    }

    @Test func sgdResumesBitExactly() throws {
        try resumesBitExactly { try SGD(parameters: $0, learningRate: 0.1, momentum: 0.9, weightDecay: 1e-4, nesterov: true) }
        try resumesBitExactly { try SGD(parameters: $0, learningRate: 0.1, momentum: 0.8, dampening: 0.3) }
    }

    /// Hyper-parameters come back from their decimal strings bit for bit, as torch restores them.
    @Test func hyperParametersRoundTrip() throws {
        let a = try AdamW(parameters: try parameters(), learningRate: 0.1 + 0.2, betas: (0.91, 0.9987),
                          epsilon: 1.1e-8, weightDecay: 1 / 3)
        let b = try AdamW(parameters: try parameters())
        try b.load(a.stateDict())
        #expect(b.learningRate == a.learningRate && b.betas == a.betas)
        #expect(b.epsilon == a.epsilon && b.weightDecay == a.weightDecay)
        #expect(a.stateDict().metadata["betas"] == "0.91,0.9987")
    }

    @Test func emaResumesBitExactly() throws {
        Random.manualSeed(3)
        let m1 = Sequential([Linear(3, 5), Linear(5, 2)])
        let m2 = Sequential([Linear(3, 5), Linear(5, 2)])
        try m2.load(m1.stateDict())
        let a = try EMA(model: m1, decays: [0.9, 0.99], warmup: .init())
        for step in 0..<3 {
            for (i, p) in m1.parameters.enumerated() {
                try p.assign(try Tensor(Support.values(p.count, seed: UInt64(10 * step + i)), shape: p.shape))
            }
            try a.update()
        }
        let saved = cloned(a.stateDict())
        #expect(saved.tensors.keys.first == "0.0.weight")
        let b = try EMA(model: m2, decays: [0.9, 0.99], warmup: .init())
        try b.load(saved)
        try m2.load(m1.stateDict())
        try a.update()
        try b.update()
        #expect(b.updateCount == 4)
        for k in 0..<2 {
            let wa = try a.weights(decayIndex: k), wb = try b.weights(decayIndex: k)
            for (name, t) in wa { #expect(wb[name]!.toArray() == t.toArray()) }
        }
    }

    @Test func mismatchedStateIsRejectedAndNothingChanges() throws {
        let ps = try parameters()
        let a = try AdamW(parameters: ps)
        setGrads(ps, step: 0)
        try a.step()
        let good = a.stateDict()

        let fewer = try AdamW(parameters: Array(try parameters().prefix(2)))
        #expect(throws: OptimizerError.self) { try fewer.load(good) }

        let reshaped = try AdamW(parameters: [
            Support.parameter(Support.values(35, seed: 1), [7, 5]), Support.parameter([1, 2, 3, 4, 5], [5]),
            Support.parameter([1, 2, 3, 4, 5, 6], [2, 3]),
        ])
        do {
            try reshaped.load(good)
            Issue.record("loading state for other shapes should throw")
        } catch let e as OptimizerError {
            #expect(e.description.contains("\"0.exp_avg\" has shape [5, 7] but parameter 0 has shape [7, 5]"))
        }
        #expect(reshaped.stepCount == 0 && reshaped.parameterSteps == [0, 0, 0])

        var missing = good
        missing.tensors["1.exp_avg_sq"] = nil
        missing.tensors["9.exp_avg"] = Tensor.zeros([1])
        do {
            try AdamW(parameters: try parameters()).load(missing)
            Issue.record("loading incomplete state should throw")
        } catch let e as OptimizerError {
            #expect(e.problems.count == 2)
        }

        #expect(throws: OptimizerError.self) {
            try SGD(parameters: try parameters(), learningRate: 0.1, momentum: 0.9).load(good)
        }
        var badNumber = good
        badNumber.metadata["lr"] = "fast"
        #expect(throws: OptimizerError.self) { try AdamW(parameters: try parameters()).load(badNumber) }

        Random.manualSeed(0)
        let ema = try EMA(model: Linear(2, 2), decays: [0.9])
        #expect(throws: OptimizerError.self) { try EMA(model: Linear(2, 3), decays: [0.9]).load(ema.stateDict()) }
        #expect(throws: OptimizerError.self) { try EMA(model: Linear(2, 2), decays: [0.99]).load(ema.stateDict()) }
    }

    @Test func prefixedAndScopedAreInverse() throws {
        let s = SavedState(tensors: ["0.exp_avg": Tensor([1, 2])], metadata: ["lr": "0.1"])
        let p = s.prefixed("optimizer.")
        #expect(p.tensors.keys.elements == ["optimizer.0.exp_avg"] && p.metadata == ["optimizer.lr": "0.1"])
        let back = p.scoped("optimizer.")
        #expect(back.tensors["0.exp_avg"]!.toArray() == [1, 2] && back.metadata == s.metadata)
        #expect(p.scoped("ema.").tensors.isEmpty)
    }
}
