import Testing
@testable import AutoProg

@Suite struct NormalizationModuleTests {
    @Test func layerNormParametersAndForward() throws {
        let ln = LayerNorm(8, epsilon: 1e-6)
        #expect(ln.namedParameters().map(\.0) == ["weight", "bias"])
        #expect(ln.weight!.value.toArray() == [Float](repeating: 1, count: 8))
        #expect(ln.bias!.value.toArray() == [Float](repeating: 0, count: 8))
        let x = Tensor.randn([2, 3, 8])
        try ln.weight!.assign(Tensor.randn([8]))
        #expect(try ln(x).toArray() == layerNorm(x, weight: ln.weight!.value, bias: ln.bias!.value, epsilon: 1e-6).toArray())
        #expect(ln.extraDescription == "(8,), eps=1e-06")
        let plain = LayerNorm(8, elementwiseAffine: false)
        #expect(plain.parameters.isEmpty)
        #expect(plain.extraDescription.contains("elementwise_affine=False"))
    }

    @Test func layerNormTrainsItsParameters() throws {
        let ln = LayerNorm(4)
        try mseLoss(try ln(Tensor.randn([5, 4])), Tensor.randn([5, 4])).backward()
        #expect(ln.weight!.grad.toArray().contains { $0 != 0 })
        #expect(ln.bias!.grad.toArray().contains { $0 != 0 })
    }

    @Test func groupNormParametersAndForward() throws {
        let gn = GroupNorm(groups: 2, channels: 6)
        #expect(gn.stateDict().keys.elementsEqual(["weight", "bias"]))
        #expect(gn.weight!.shape == [6])
        let x = Tensor.randn([2, 6, 4, 4])
        #expect(try gn(x).toArray() == groupNorm(x, groups: 2, weight: gn.weight!.value, bias: gn.bias!.value).toArray())
        #expect(gn.extraDescription == "2, 6, eps=1e-05")
        #expect(GroupNorm(groups: 3, channels: 6, affine: false).parameters.isEmpty)
        #expect(throws: TensorError.self) { try gn(Tensor.zeros([2, 5, 4])) }
    }

    @Test func activationModules() throws {
        let x = Tensor.randn([3, 5])
        #expect(try GELU()(x).toArray() == gelu(x).toArray())
        #expect(try GELU(approximation: .tanh)(x).toArray() == gelu(x, approximation: .tanh).toArray())
        #expect(GELU(approximation: .tanh).extraDescription == "approximate='tanh'")
        #expect(try SiLU()(x).toArray() == silu(x).toArray())
        #expect(try ReLU()(x).toArray() == relu(x).toArray())
        #expect(try Tanh()(x).toArray() == tanh(x).toArray())
        #expect(try Sigmoid()(x).toArray() == sigmoid(x).toArray())
    }

    @Test func dropoutModulesFollowTrainingMode() throws {
        let model = Sequential([Dropout(0.5), DropPath(0.5)])
        let x = Tensor.ones([16, 32])
        Random.manualSeed(1)
        #expect(try model(x).toArray().contains(0))
        model.eval()
        #expect(try model(x).toArray() == x.toArray())
        #expect(Dropout(0.1).extraDescription == "p=0.1")
        #expect(DropPath(0.2).extraDescription == "drop_prob=0.2")
    }
}
