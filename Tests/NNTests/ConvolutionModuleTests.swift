import Testing
@testable import AutoProg

@Suite struct ConvolutionModuleTests {
    @Test func parametersHavePyTorchNamesShapesAndInit() throws {
        Random.manualSeed(7)
        let conv = Conv2d(3, 8, kernelSize: 3, padding: 1)
        #expect(conv.namedParameters().map(\.0) == ["weight", "bias"])
        #expect(conv.weight.shape == [8, 3, 3, 3] && conv.bias?.shape == [8])
        let bound = 1 / Float(27).squareRoot()
        let w = conv.weight.value.toArray(), b = conv.bias!.value.toArray()
        #expect(w.allSatisfy { abs($0) <= bound } && b.allSatisfy { abs($0) <= bound })
        // Not degenerate: the weights spread over most of the interval.
        #expect(w.max()! > bound * 0.8 && w.min()! < -bound * 0.8)
        #expect(Conv2d(3, 8, kernelSize: 1, bias: false).namedParameters().map(\.0) == ["weight"])
    }

    @Test func forwardIsConv2dAndGradientsReachParameters() throws {
        let conv = Conv2d(2, 4, kernelSize: 2, stride: 2)
        let x = Tensor.randn([3, 2, 6, 6])
        let y = try conv(x)
        #expect(y.shape == [3, 4, 3, 3])
        let expected = try conv2d(x, weight: conv.weight.value.detached(), bias: conv.bias!.value.detached(), stride: 2)
        #expect(y.toArray() == expected.toArray())
        conv.zeroGrad()
        try y.backward(gradient: Tensor.ones(y.shape))
        #expect(conv.bias!.grad.toArray() == [27, 27, 27, 27])
        #expect(conv.weight.grad.toArray().contains { $0 != 0 })
    }

    @Test func frozenWeightsGetNoGradient() throws {
        let conv = Conv2d(2, 3, kernelSize: 3, padding: 1)
        conv.setRequiresGrad(false)
        let x = Tensor.randn([1, 2, 4, 4]).requiringGrad()
        try conv(x).backward(gradient: Tensor.ones([1, 3, 4, 4]))
        #expect(x.grad?.shape == [1, 2, 4, 4])
        #expect(conv.weight.grad.toArray().allSatisfy { $0 == 0 })
    }
}
