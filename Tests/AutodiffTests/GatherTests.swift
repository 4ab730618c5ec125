import Testing
@testable import AutoProg

@Suite struct GatherTests {
    @Test func embeddingPicksRows() throws {
        let table = Tensor.randn([5, 3]), v = table.toArray()
        func rows(_ ids: [Int]) -> [Float] { ids.flatMap { (i: Int) -> [Float] in Array(v[(i * 3)..<(i * 3 + 3)]) } }
        let y = try embedding([4, 0, 4, 2], table: table)
        #expect(y.shape == [4, 3])
        #expect(y.toArray() == rows([4, 0, 4, 2]))
        // Indices in a tensor of any shape: the result appends the row dimension.
        let ids = try Tensor([1, 3, 3, 0, 2, 1], shape: [2, 3])
        let z = try embedding(ids, table: table)
        #expect(z.shape == [2, 3, 3])
        #expect(z.toArray() == rows([1, 3, 3, 0, 2, 1]))
    }

    @Test func embeddingGradientScatterAddsRepeats() throws {
        let table = Tensor.randn([5, 3]).requiringGrad()
        let g = try Tensor((0..<12).map(Float.init), shape: [4, 3])
        try embedding([4, 0, 4, 2], table: table).backward(gradient: g)
        // Row 4 receives rows 0 and 2 of g; rows 1 and 3 receive nothing.
        #expect(table.grad?.toArray() == [3, 4, 5, 0, 0, 0, 9, 10, 11, 0, 0, 0, 6, 8, 10])
        #expect(try GradientCheck().mismatches([Tensor.randn([6, 4])]) {
            try embedding(try Tensor([5, 1, 5, 5, 0], shape: [5, 1]), table: $0[0])
        }.isEmpty)
    }

    @Test func wideTableGradientSplitsColumnsAcrossThreads() throws {
        let table = Tensor.randn([3, 4096]).requiringGrad()
        try embedding([2, 2, 0], table: table).backward(gradient: Tensor.ones([3, 4096]))
        let grad = table.grad!.toArray()
        #expect(grad[0..<4096].allSatisfy { $0 == 1 })
        #expect(grad[4096..<8192].allSatisfy { $0 == 0 })
        #expect(grad[8192...].allSatisfy { $0 == 2 })
    }

    @Test func badIndicesThrowNamingThem() {
        let table = Tensor.zeros([4, 2])
        #expect { try embedding([0, 4], table: table) } throws: {
            "\($0)".hasPrefix("embedding:") && "\($0)".contains("index 4 at position 1") && "\($0)".contains("[4, 2]")
        }
        #expect { try embedding([-1], table: table) } throws: { "\($0)".contains("index -1") }
        #expect { try embedding(Tensor([0, 1.5]), table: table) } throws: {
            "\($0)".contains("1.5") && "\($0)".contains("not an integer")
        }
        #expect { try embedding([0], table: Tensor.zeros([4])) } throws: { "\($0)".contains("[4]") }
        #expect { try table.gathered(axis: 1, indices: [2]) } throws: { "\($0)".hasPrefix("index_select:") }
    }

    @Test func gatheredSelectsAlongAnyAxis() throws {
        let x = Tensor.randn([2, 4, 3]), v = x.toArray()
        let y = try x.gathered(axis: 1, indices: [3, 1, 3])
        #expect(y.shape == [2, 3, 3])
        var ref: [Float] = []
        for o in 0..<2 { for j in [3, 1, 3] { ref += v[((o * 4 + j) * 3)..<((o * 4 + j) * 3 + 3)] } }
        #expect(y.toArray() == ref)
        let check = GradientCheck()
        #expect(try check.mismatches([x]) { try $0[0].gathered(axis: 1, indices: [3, 1, 3]) }.isEmpty)
        #expect(try check.mismatches([x]) { try $0[0].gathered(axis: -1, indices: [0, 0, 2]) }.isEmpty)
        // A strided input is gathered correctly too.
        let t = try x.transposed(0, 2)  // [3, 4, 2]
        #expect(try t.gathered(axis: 0, indices: [2]).toArray() == (try t.sliced(axis: 0, 2..<3).toArray()))
    }
}
