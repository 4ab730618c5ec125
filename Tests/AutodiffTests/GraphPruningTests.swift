import Testing
@testable import AutoProg

@Suite struct GraphPruningTests {
    /// With the first two layers frozen and a constant input, nothing is recorded for
    /// them: backward starts and stops at the one trainable layer.
    @Test func nothingIsRecordedBelowTheLowestTrainableLayer() throws {
        let model = Sequential([Linear(4, 8), Linear(8, 8), Linear(8, 2)])
        model.layers[0].setRequiresGrad(false)
        model.layers[1].setRequiresGrad(false)
        let y = try model(Tensor.randn([3, 4]))
        let nodes = GradNode.topologicalOrder(from: y.gradNode!)
        #expect(nodes.filter { !$0.isLeaf }.map(\.op) == ["linear"])
        try y.backward(gradient: Tensor.ones([3, 2]))
        #expect(model.layers[2].parameters.allSatisfy { p in p.grad.toArray().contains { $0 != 0 } })
    }

    @Test func frozenMiddleLayerStillPassesGradientDown() throws {
        let model = Sequential([Linear(4, 8), Linear(8, 8), Linear(8, 2)])
        model.layers[1].setRequiresGrad(false)
        let y = try model(Tensor.randn([3, 4]))
        try y.backward(gradient: Tensor.ones([3, 2]))
        #expect(model.layers[0].parameters.allSatisfy { p in p.grad.toArray().contains { $0 != 0 } })
        #expect(model.layers[1].parameters.allSatisfy { p in p.grad.toArray().allSatisfy { $0 == 0 } })
    }

    @Test func secondBackwardThroughAFreedGraphIsAnError() throws {
        let x = Tensor.randn([2, 2]).requiringGrad()
        let y = try (x * x).sum()
        try y.backward()
        #expect(throws: TensorError.self) { try y.backward() }
    }

    @Test func noGradModeRecordsNothing() throws {
        let x = Tensor.randn([2, 2]).requiringGrad()
        let y = try Autograd.withoutGradients { try x * x }
        #expect(!y.requiresGrad)
    }
}
