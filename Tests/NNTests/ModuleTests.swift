import Testing
@testable import AutoProg

final class TinyBlock: Module {
    let fc1 = Linear(4, 8), fc2 = Linear(8, 4)
    override init() {
        super.init()
        register("fc1", fc1)
        register("fc2", fc2)
    }
    override func forward(_ x: Tensor) throws -> Tensor { try fc2(fc1(x)) }
}

@Suite struct ModuleTests {
    @Test func dottedNamesFollowPyTorch() {
        let blocks = ModuleList([TinyBlock(), TinyBlock()])
        let names = blocks.namedParameters().map(\.0)
        #expect(names == ["0.fc1.weight", "0.fc1.bias", "0.fc2.weight", "0.fc2.bias",
                          "1.fc1.weight", "1.fc1.bias", "1.fc2.weight", "1.fc2.bias"])
        #expect(blocks.parameterCount == 2 * (4 * 8 + 8 + 8 * 4 + 4))
    }

    @Test func stateDictRoundTrip() throws {
        let a = TinyBlock(), b = TinyBlock()
        try b.load(a.stateDict())
        #expect(b.fc1.weight.value.toArray() == a.fc1.weight.value.toArray())
    }

    @Test func loadListsEveryProblem() {
        let m = TinyBlock()
        var state = m.stateDict()
        state["fc1.weight"] = Tensor.zeros([3, 3])
        state["fc2.bias"] = nil
        state["head.weight"] = Tensor.zeros([1])
        #expect { try m.load(state) } throws: { error in
            let s = "\(error)"
            return s.contains("fc1.weight") && s.contains("[3, 3]") && s.contains("missing keys: fc2.bias")
                && s.contains("unexpected keys: head.weight")
        }
    }

    @Test func printsATreeWithCounts() {
        let s = "\(Sequential([Linear(2, 3), TinyBlock()]))"
        #expect(s.contains("(0): Linear(in=2, out=3)  [9 params]"))
        #expect(s.contains("(1): TinyBlock("))
    }

    @Test func packingKeepsValuesAndSharesOneBuffer() throws {
        let m = TinyBlock()
        let before = m.parameters.map { $0.value.toArray() }
        ParameterPacking.pack(m.parameters)
        #expect(ParameterPacking.isPacked(m.parameters))
        #expect(m.parameters.map { $0.value.toArray() } == before)
        // Gradients still reach the packed grad buffer.
        let y = try m(Tensor.randn([2, 4]))
        try y.backward(gradient: Tensor.ones([2, 4]))
        #expect(m.fc1.weight.grad.toArray().contains { $0 != 0 })
        m.zeroGrad()
        #expect(m.parameters.allSatisfy { $0.grad.toArray().allSatisfy { $0 == 0 } })
    }

    @Test func frozenParametersGetNoGradient() throws {
        let m = TinyBlock()
        m.fc1.setRequiresGrad(false)
        let y = try m(Tensor.randn([2, 4]))
        try y.backward(gradient: Tensor.ones([2, 4]))
        #expect(m.fc1.weight.grad.toArray().allSatisfy { $0 == 0 })
        #expect(m.fc2.weight.grad.toArray().contains { $0 != 0 })
    }
}
