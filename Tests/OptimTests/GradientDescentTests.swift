import Testing
@testable import AutoProg

@Suite struct GradientDescentTests {
    /// Plain gradient steps written by hand on a packed model lower a least-squares loss:
    /// the grad buffers the optimizers read are the ones backward fills.
    @Test func handWrittenStepsLowerTheLoss() throws {
        Random.manualSeed(0)
        let model = Linear(3, 1)
        ParameterPacking.pack(model.parameters)
        let x = Tensor.randn([16, 3]), target = Tensor.randn([16, 1])
        func loss() throws -> Float {
            let y = try Autograd.withoutGradients { try model(x) }
            return zip(y.toArray(), target.toArray()).map { ($0 - $1) * ($0 - $1) }.reduce(0, +)
        }
        let start = try loss()
        for _ in 0..<20 {
            model.zeroGrad()
            let y = try model(x)
            let dy = try Tensor(zip(y.toArray(), target.toArray()).map { 2 * ($0 - $1) / 16 }, shape: [16, 1])
            try y.backward(gradient: dy)
            for p in model.parameters {
                for i in 0..<p.count { p.value.pointer[i] -= 0.1 * p.grad.pointer[i] }
            }
        }
        #expect(try loss() < 0.8 * start)
    }
}
