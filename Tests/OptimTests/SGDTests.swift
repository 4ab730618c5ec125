import Testing
@testable import AutoProg

@Suite struct SGDTests {
    /// torch.optim.SGD by hand, momentum 0.5, dampening 0.2, weight decay 0.1, lr 0.1, p = 1:
    /// step 1 (g = 1): d = 1.1, buf = d = 1.1 (first step: no dampening), p = 1 − 0.11 = 0.89;
    /// step 2 (g = 1): d = 1.089, buf = 0.55 + 0.8·1.089 = 1.4212, p = 0.89 − 0.14212 = 0.74788.
    @Test func momentumAndDampeningWorkedByHand() throws {
        let p = try Support.parameter([1], [1])
        let opt = try SGD(parameters: [p], learningRate: 0.1, momentum: 0.5, dampening: 0.2, weightDecay: 0.1)
        Support.setGrad(p, [1])
        try opt.step()
        #expect(abs(p.value.pointer[0] - 0.89) < 1e-6)
        #expect(try opt.stateDict().tensors["0.momentum_buffer"]!.item() == Float(1.1))
        try opt.step()
        #expect(abs(p.value.pointer[0] - 0.74788) < 1e-6)
    }

    /// Nesterov by hand, momentum 0.5, lr 0.1, p = 1, g = 1 twice:
    /// step 1: buf = 1, d = 1 + 0.5 = 1.5, p = 0.85; step 2: buf = 1.5, d = 1.75, p = 0.675.
    @Test func nesterovWorkedByHand() throws {
        let p = try Support.parameter([1], [1])
        let opt = try SGD(parameters: [p], learningRate: 0.1, momentum: 0.5, nesterov: true)
        Support.setGrad(p, [1])
        try opt.step()
        #expect(abs(p.value.pointer[0] - 0.85) < 1e-6)
        try opt.step()
        #expect(abs(p.value.pointer[0] - 0.675) < 1e-6)
    }

    @Test func plainStepIsGradientDescent() throws {
        let p = try Support.parameter([1, 2, 3], [3])
        let opt = try SGD(parameters: [p], learningRate: 0.5)
        Support.setGrad(p, [2, -2, 0])
        try opt.step()
        #expect(p.value.toArray() == [0, 3, 3])
        #expect(opt.stateDict().tensors.isEmpty)
    }

    /// Three steps against torch.optim.SGD (with dampening; and Nesterov), bit for bit
    /// (torch's `add(alpha:)` is one FMA, which the kernel reproduces); frozen parameter untouched.
    @Test(arguments: [false, true]) func matchesTorch(nesterov: Bool) throws {
        let ps = try Support.goldenParameters()
        let opt = try SGD(parameters: ps, learningRate: 1, momentum: 0.9, dampening: nesterov ? 0 : 0.1,
                          weightDecay: 0.01, nesterov: nesterov)
        let golden = nesterov ? TorchGolden.nesterov : TorchGolden.sgd
        for step in 0..<3 {
            opt.learningRate = TorchGolden.lrs[step]
            for i in 0..<2 { Support.setGrad(ps[i], TorchGolden.grads[step][i]) }
            try opt.step()
            for i in 0..<2 {
                let error = Support.maxError(ps[i].value.toArray(), golden[step][i])
                #expect(error == 0, "step \(step) parameter \(i): error \(error)")
            }
            #expect(ps[2].value.toArray() == TorchGolden.initial[2])
        }
        #expect(opt.hasMomentumBuffer == [true, true, false])
    }

    @Test func invalidConfigurationThrows() throws {
        let p = try Support.parameter([1], [1])
        #expect(throws: OptimizerError.self) { try SGD(parameters: [p], learningRate: 0.1, nesterov: true) }
        #expect(throws: OptimizerError.self) {
            try SGD(parameters: [p], learningRate: 0.1, momentum: 0.9, dampening: 0.1, nesterov: true)
        }
        #expect(throws: OptimizerError.self) { try SGD(parameters: [p], learningRate: 0.1, momentum: -1) }
    }
}
