import Testing
@testable import AutoProg

/// Naive reference: element at a full index of a dense row-major array.
private func element(_ values: [Float], _ shape: [Int], _ index: [Int]) -> Float {
    values[zip(index, Tensor.contiguousStrides(for: shape)).reduce(0) { $0 + $1.0 * $1.1 }]
}

/// Every full index of `shape` in row-major order.
private func indices(_ shape: [Int]) -> [[Int]] {
    shape.reduce([[]]) { acc, n in acc.flatMap { prefix in (0..<n).map { prefix + [$0] } } }
}

@Suite struct ShapeTests {
    @Test func permuteIsAViewWithPermutedElements() throws {
        let x = Tensor.randn([2, 3, 4]), v = x.toArray()
        let p = try x.permuted([2, 0, 1])
        #expect(p.shape == [4, 2, 3])
        #expect(p.storage === x.storage)
        #expect(p.toArray() == indices([4, 2, 3]).map { i in element(v, [2, 3, 4], [i[1], i[2], i[0]]) })
        let t = try x.transposed(0, -1)
        #expect(t.shape == [4, 3, 2])
        #expect(t.toArray() == indices([4, 3, 2]).map { i in element(v, [2, 3, 4], [i[2], i[1], i[0]]) })
        #expect { try x.permuted([0, 0, 1]) } throws: { "\($0)".hasPrefix("permute:") && "\($0)".contains("[2, 3, 4]") }
        #expect { try x.permuted([0, 1]) } throws: { "\($0)".hasPrefix("permute:") }
    }

    @Test func sliceIsAStridedView() throws {
        let x = Tensor.randn([3, 5, 2]), v = x.toArray()
        let s = try x.sliced(axis: 1, 1..<4)
        #expect(s.shape == [3, 3, 2])
        #expect(s.storage === x.storage)
        #expect(s.toArray() == indices([3, 3, 2]).map { i in element(v, [3, 5, 2], [i[0], i[1] + 1, i[2]]) })
        #expect(try x.sliced(axis: -1, 1..<2).toArray() == indices([3, 5, 1]).map { i in element(v, [3, 5, 2], [i[0], i[1], 1]) })
        #expect { try x.sliced(axis: 1, 3..<6) } throws: { "\($0)".hasPrefix("slice:") && "\($0)".contains("[3, 5, 2]") }
    }

    @Test func viewsOfViews() throws {
        // Slice, then permute, then slice again: still one storage, still the right elements.
        let x = Tensor.randn([4, 6, 3]), v = x.toArray()
        let y = try x.sliced(axis: 1, 2..<5).permuted([2, 0, 1]).sliced(axis: 1, 1..<3)  // [3, 2, 3]
        #expect(y.shape == [3, 2, 3])
        #expect(y.storage === x.storage)
        #expect(y.toArray() == indices([3, 2, 3]).map { i in element(v, [4, 6, 3], [i[1] + 1, i[2] + 2, i[0]]) })
        let check = GradientCheck()
        #expect(try check.mismatches([x]) {
            try $0[0].sliced(axis: 1, 2..<5).permuted([2, 0, 1]).sliced(axis: 1, 1..<3)
        }.isEmpty)
        // A binary op reading the doubly strided view in place.
        #expect(try check.mismatches([x, Tensor.randn([3])]) {
            try $0[0].sliced(axis: 1, 2..<5).permuted([2, 0, 1]) * $0[1].reshaped([3, 1, 1])
        }.isEmpty)
    }

    @Test func viewGradients() throws {
        let check = GradientCheck()
        let x = Tensor.randn([2, 3, 4])
        #expect(try check.mismatches([x]) { try $0[0].permuted([1, 2, 0]) }.isEmpty)
        #expect(try check.mismatches([x]) { try $0[0].transposed(0, 2) }.isEmpty)
        #expect(try check.mismatches([x]) { try $0[0].sliced(axis: 2, 1..<3) }.isEmpty)
        #expect(try check.mismatches([x]) { try $0[0].unsqueezed(1) }.isEmpty)
        #expect(try check.mismatches([x]) { try $0[0].unsqueezed(-1).squeezed(3) }.isEmpty)
        #expect(try check.mismatches([x]) { try $0[0].flattened(from: 1) }.isEmpty)
        #expect(try check.mismatches([x]) { try $0[0].permuted([2, 0, 1]).reshaped([4, 6]) }.isEmpty)
        #expect(try check.mismatches([Tensor.randn([3, 1])]) { try $0[0].expanded(to: [2, 3, 4]) }.isEmpty)
    }

    @Test func concatenateAndChunkRoundTrip() throws {
        let x = Tensor.randn([2, 6, 3])
        let parts = try x.chunked(3, axis: 1)
        #expect(parts.map(\.shape) == [[2, 2, 3], [2, 2, 3], [2, 2, 3]])
        #expect(parts.allSatisfy { $0.storage === x.storage })
        #expect(try Tensor.concatenated(parts, axis: 1).toArray() == x.toArray())
        // Unequal parts along the last axis, against a naive reference.
        let a = Tensor.randn([2, 3, 1]), b = Tensor.randn([2, 3, 4])
        let c = try Tensor.concatenated([a, b], axis: -1)
        #expect(c.shape == [2, 3, 5])
        let va = a.toArray(), vb = b.toArray()
        #expect(c.toArray() == indices([2, 3, 5]).map { i in
            i[2] < 1 ? element(va, [2, 3, 1], i) : element(vb, [2, 3, 4], [i[0], i[1], i[2] - 1])
        })
        // The chunk gradient reassembles in the input; the concat gradient splits.
        let check = GradientCheck()
        #expect(try check.mismatches([x]) { try Tensor.concatenated(try $0[0].chunked(3, axis: 1).reversed(), axis: 2) }.isEmpty)
        #expect(try check.mismatches([a, b], constant: [0]) { try Tensor.concatenated([$0[0], $0[1]], axis: 2) }.isEmpty)
        #expect(try check.mismatches([Tensor.randn([2, 3]), Tensor.randn([1, 3])]) {
            try Tensor.concatenated([$0[0], $0[1], $0[0]], axis: 0)
        }.isEmpty)
    }

    @Test func concatenateAndChunkErrors() {
        #expect { try Tensor.concatenated([Tensor.zeros([2, 3]), Tensor.zeros([3, 3])], axis: 1) } throws: {
            "\($0)".hasPrefix("cat:") && "\($0)".contains("[2, 3]") && "\($0)".contains("[3, 3]")
        }
        #expect { try Tensor.concatenated([], axis: 0) } throws: { "\($0)".hasPrefix("cat:") }
        #expect { try Tensor.zeros([2, 5]).chunked(2, axis: 1) } throws: {
            "\($0)".hasPrefix("chunk:") && "\($0)".contains("[2, 5]")
        }
    }

    @Test func unsqueezeSqueezeFlatten() throws {
        let x = Tensor.randn([2, 3])
        #expect(try x.unsqueezed(0).shape == [1, 2, 3])
        #expect(try x.unsqueezed(-1).shape == [2, 3, 1])
        #expect(try x.unsqueezed(1).toArray() == x.toArray())
        #expect(try x.unsqueezed(1).squeezed(1).shape == [2, 3])
        #expect(try x.squeezed(0).shape == [2, 3])  // not size 1: unchanged, as in PyTorch
        #expect { try x.unsqueezed(4) } throws: { "\($0)".hasPrefix("unsqueeze:") }
        let y = Tensor.randn([2, 3, 4, 5])
        #expect(try y.flattened().shape == [120])
        #expect(try y.flattened(from: 1, through: 2).shape == [2, 12, 5])
        #expect(try y.flattened(from: -2).shape == [2, 3, 20])
        #expect(try y.flattened(from: 1).storage === y.storage)
        #expect { try y.flattened(from: 2, through: 1) } throws: { "\($0)".hasPrefix("flatten:") }
    }

    @Test func reshapeIsAViewWhenStridesAllow() throws {
        let x = Tensor.randn([4, 6, 5])
        // Slicing the first axis keeps the rest contiguous: merging axes 1 and 2 is a view.
        let s = try x.sliced(axis: 0, 1..<3)
        let r = try s.reshaped([2, 30])
        #expect(r.storage === x.storage)
        #expect(r.toArray() == s.toArray())
        // A transpose cannot be flattened in place: a copy with the same elements.
        let t = try x.transposed(1, 2)
        let f = try t.reshaped([4, 30])
        #expect(f.storage !== x.storage)
        #expect(f.toArray() == t.toArray())
        // Splitting one axis of a transposed view is still a view.
        let u = try t.reshaped([4, 5, 2, 3])
        #expect(u.storage === x.storage)
        #expect(u.toArray() == t.toArray())
        #expect { try x.reshaped([7, -1]) } throws: { "\($0)".hasPrefix("reshape:") && "\($0)".contains("[4, 6, 5]") }
    }

    @Test func expandIsABroadcastView() throws {
        let x = try Tensor([1, 2, 3], shape: [3, 1])
        let e = try x.expanded(to: [2, 3, 4])
        #expect(e.storage === x.storage)
        #expect(e.strides == [0, 1, 0])
        let expected: [Float] = (0..<24).map { (i: Int) -> Float in Float((i / 4) % 3 + 1) }
        #expect(e.toArray() == expected)
        #expect(try x.expanded(to: [-1, 2]).shape == [3, 2])
        #expect { try x.expanded(to: [2, 4]) } throws: {
            "\($0)".hasPrefix("expand:") && "\($0)".contains("[3, 1]") && "\($0)".contains("[2, 4]")
        }
        let leaf = x.requiringGrad()
        try leaf.expanded(to: [2, 3, 4]).backward(gradient: Tensor.ones([2, 3, 4]))
        #expect(leaf.grad?.toArray() == [8, 8, 8])
    }
}
