import Testing
@testable import AutoProg

/// Naive reference: sums (in Double) of a dense tensor over `axes`, keep-dims order.
func naiveSum(_ x: Tensor, axes: Set<Int>) -> [Double] {
    let shape = x.shape, v = x.toArray()
    let keep = shape.indices.map { axes.contains($0) ? 1 : shape[$0] }
    let keepStrides = Tensor.contiguousStrides(for: keep)
    var out = [Double](repeating: 0, count: keep.reduce(1, *))
    for flat in 0..<v.count {
        var rest = flat, o = 0
        for d in stride(from: shape.count - 1, through: 0, by: -1) {
            let i = rest % shape[d]
            rest /= shape[d]
            if !axes.contains(d) { o += i * keepStrides[d] }
        }
        out[o] += Double(v[flat])
    }
    return out
}

@Suite struct ReductionTests {
    @Test func sumAndMeanMatchNaiveForEveryAxisSet() throws {
        let x = Tensor.randn([3, 4, 5, 2])
        for axes in [[0], [1], [2], [3], [0, 2], [1, 3], [0, 1, 2, 3], [-1], [-2, 0], [1, 2]] {
            let resolved = Set(axes.map { $0 < 0 ? $0 + 4 : $0 })
            let ref = naiveSum(x, axes: resolved)
            let n = resolved.reduce(1) { $0 * x.shape[$1] }
            let s = try x.sum(axes: axes)
            #expect(s.shape == x.shape.indices.filter { !resolved.contains($0) }.map { x.shape[$0] })
            expectClose(s.toArray(), ref.map(Float.init), tolerance: 1e-6)
            let m = try x.mean(axes: axes, keepingDims: true)
            #expect(m.shape == x.shape.indices.map { resolved.contains($0) ? 1 : x.shape[$0] })
            expectClose(m.toArray(), ref.map { Float($0 / Double(n)) }, tolerance: 1e-6)
        }
        expectClose([try x.sum().item()], [Float(naiveSum(x, axes: [0, 1, 2, 3])[0])], tolerance: 1e-6)
        #expect(x.sum().shape == [])
        #expect(try x.mean().item() == (try x.mean(axes: [0, 1, 2, 3]).item()))
    }

    @Test func stridedInputAndSizeOneAxes() throws {
        let base = Tensor.randn([4, 1, 6])
        let t = try base.permuted([2, 1, 0])  // [6, 1, 4], non-contiguous
        expectClose(try t.sum(axes: [0]).toArray(), naiveSum(t.contiguous(), axes: [0]).map(Float.init))
        // Reducing only a size-1 axis copies.
        #expect(try base.sum(axes: [1]).toArray() == base.toArray())
        #expect(try base.sum(axes: []).shape == [4, 1, 6])
    }

    @Test func largeSumsStayAccurate() throws {
        // 2²¹ copies of 0.1 summed naively in float drift by ~1%; here only float rounding of 0.1 remains.
        let n = 1 << 21
        let x = Tensor.full([n], 0.1)
        let exact = Double(Float(0.1)) * Double(n)
        #expect(Swift.abs(Double(try x.sum().item()) - exact) / exact < 1e-6)
        // The same down long columns and along long rows, threaded.
        let m = Tensor.full([1 << 16, 32], 0.1)
        let columns = try m.sum(axes: [0]).toArray()
        #expect(columns.allSatisfy { Swift.abs(Double($0) - Double(Float(0.1)) * 65536) < 1e-3 })
        let rows = try Tensor.full([32, 1 << 16], 0.1).mean(axes: [1]).toArray()
        #expect(rows.allSatisfy { Swift.abs($0 - 0.1) < 1e-7 })
    }

    @Test func sumGradients() throws {
        let check = GradientCheck()
        let x = Tensor.randn([3, 4, 5])
        #expect(try check.mismatches([x]) { $0[0].sum() }.isEmpty)
        #expect(try check.mismatches([x]) { $0[0].mean() }.isEmpty)
        #expect(try check.mismatches([x]) { try $0[0].sum(axes: [0, 2]) }.isEmpty)
        #expect(try check.mismatches([x]) { try $0[0].sum(axes: [1], keepingDims: true) }.isEmpty)
        #expect(try check.mismatches([x]) { try $0[0].mean(axes: [-1]) }.isEmpty)
    }

    @Test func maxValuesIndicesAndGradient() throws {
        let x = try Tensor([1, 5, 5, 2,
                            7, 0, 3, 7,
                            -1, -2, -3, -4], shape: [3, 4])
        #expect(try x.max(axis: 1).toArray() == [5, 7, -1])
        #expect(try x.max(axis: -1, keepingDims: true).shape == [3, 1])
        #expect(try x.max(axis: 0).toArray() == [7, 5, 5, 7])
        #expect(try x.argmax(axis: 1) == [1, 0, 0])
        #expect(try x.argmax(axis: 0) == [1, 0, 0, 1])
        // Ties send the whole gradient to the first maximum.
        let leaf = x.requiringGrad()
        try leaf.max(axis: 1).backward(gradient: try Tensor([10, 20, 30], shape: [3]))
        #expect(leaf.grad?.toArray() == [0, 10, 0, 0, 20, 0, 0, 0, 30, 0, 0, 0])
        #expect(try check(distinct([3, 4, 5]), axis: 1))
        #expect(try check(distinct([6, 7]), axis: -1))
        #expect { try Tensor.zeros([2, 0]).max(axis: 1) } throws: { "\($0)".contains("[2, 0]") }
    }

    /// Shuffled values 0.1 apart, so the ±ε probes never change which element is largest.
    private func distinct(_ shape: [Int]) throws -> Tensor {
        var stream = RandomStream(seed: 7, purpose: "max-test")
        let n = shape.reduce(1, *)
        return try Tensor(stream.permutation(n).map { Float($0) * 0.1 - 1 }, shape: shape)
    }

    private func check(_ x: Tensor, axis: Int) throws -> Bool {
        try GradientCheck().mismatches([x]) { try $0[0].max(axis: axis) }.isEmpty
    }

    @Test func maxPropagatesNaN() throws {
        let x = try Tensor([1, .nan, 3], shape: [1, 3])
        #expect(try x.max(axis: 1).toArray()[0].isNaN)
        #expect(try x.argmax(axis: 1) == [1])
    }

    @Test func varianceMatchesNaiveAndHasGradients() throws {
        let x = try Tensor.randn([4, 6]) + 1000  // a large mean must not cost precision
        let v = x.toArray()
        for unbiased in [true, false] {
            let rows = try x.variance(axes: [1], unbiased: unbiased).toArray()
            for r in 0..<4 {
                let row = v[(r * 6)..<(r * 6 + 6)].map(Double.init)
                let mean = row.reduce(0, +) / 6
                let ref = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / (unbiased ? 5 : 6)
                #expect(Swift.abs(Double(rows[r]) - ref) <= 1e-3 * ref)
            }
        }
        let check = GradientCheck()
        let y = Tensor.randn([3, 4, 5])
        #expect(try check.mismatches([y]) { try $0[0].variance(axes: [1]) }.isEmpty)
        #expect(try check.mismatches([y]) { try $0[0].variance(axes: [0, 2], keepingDims: true, unbiased: false) }.isEmpty)
    }

    @Test func badAxesThrowNamingTheShape() {
        let x = Tensor.zeros([2, 3])
        #expect { try x.sum(axes: [2]) } throws: { "\($0)".hasPrefix("sum:") && "\($0)".contains("[2, 3]") }
        #expect { try x.mean(axes: [1, -1]) } throws: { "\($0)".hasPrefix("mean:") && "\($0)".contains("twice") }
        #expect { try x.max(axis: -3) } throws: { "\($0)".hasPrefix("max:") }
        #expect { try x.variance(axes: [5]) } throws: { "\($0)".hasPrefix("var:") }
    }
}
