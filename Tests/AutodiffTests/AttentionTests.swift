import Foundation
import Testing
@testable import AutoProg

/// Naive multi-head attention in Float64 on dense arrays: q [B, Tq, E], k and v [B, Tk, E],
/// mask [Tq, Tk] (shared) or [B, Tq, Tk] or empty.
private func naiveAttention(_ q: [Float], _ k: [Float], _ v: [Float], batch: Int, queryLength tq: Int,
                            keyLength tk: Int, width: Int, heads: Int, mask: [Float] = [],
                            scale: Double? = nil) -> [Float] {
    let d = width / heads
    let s = scale ?? 1 / Double(d).squareRoot()
    var out = [Float](repeating: 0, count: batch * tq * width)
    for b in 0..<batch { for h in 0..<heads { for i in 0..<tq {
        var scores = [Double](repeating: 0, count: tk)
        for j in 0..<tk {
            var dot = 0.0
            for c in 0..<d { dot += Double(q[(b * tq + i) * width + h * d + c]) * Double(k[(b * tk + j) * width + h * d + c]) }
            let m = mask.isEmpty ? 0 : Double(mask.count == tq * tk ? mask[i * tk + j] : mask[(b * tq + i) * tk + j])
            scores[j] = s * dot + m
        }
        let mx = scores.max()!
        let e = scores.map { Foundation.exp($0 - mx) }
        let z = e.reduce(0, +)
        for c in 0..<d {
            var acc = 0.0
            for j in 0..<tk { acc += e[j] / z * Double(v[(b * tk + j) * width + h * d + c]) }
            out[(b * tq + i) * width + h * d + c] = Float(acc)
        }
    } } }
    return out
}

/// Column slice [.., from..<from+width] of a dense [B, T, W] tensor as an in-place view.
private func columns(_ t: Tensor, from: Int, width: Int) -> Tensor {
    Tensor(storage: t.storage, offset: t.offset + from, shape: [t.shape[0], t.shape[1], width], strides: t.strides)
}

@Suite struct AttentionTests {
    @Test func crossAttentionMatchesNaiveReference() throws {
        let q = Tensor.randn([3, 5, 12]), k = Tensor.randn([3, 7, 12]), v = Tensor.randn([3, 7, 12])
        let mask = Tensor.randn([3, 5, 7])
        let out = try scaledDotProductAttention(query: q, key: k, value: v, heads: 3, mask: mask, scale: 0.3)
        #expect(out.shape == [3, 5, 12])
        expectClose(out.toArray(), naiveAttention(q.toArray(), k.toArray(), v.toArray(), batch: 3, queryLength: 5,
                                                  keyLength: 7, width: 12, heads: 3, mask: mask.toArray(), scale: 0.3))
        // Default scale 1/√D and a mask shared across the batch.
        let shared = Tensor.randn([5, 7])
        let out2 = try scaledDotProductAttention(query: q, key: k, value: v, heads: 2, mask: shared)
        expectClose(out2.toArray(), naiveAttention(q.toArray(), k.toArray(), v.toArray(), batch: 3, queryLength: 5,
                                                   keyLength: 7, width: 12, heads: 2, mask: shared.toArray()))
    }

    @Test func longRowsUseEveryVectorLane() throws {
        // 50 keys (the ViT token count): six full 8-lane blocks plus a 2-element tail.
        let q = Tensor.randn([2, 50, 8]), k = Tensor.randn([2, 50, 8]), v = Tensor.randn([2, 50, 8])
        let out = try scaledDotProductAttention(query: q, key: k, value: v, heads: 2)
        expectClose(out.toArray(), naiveAttention(q.toArray(), k.toArray(), v.toArray(), batch: 2, queryLength: 50,
                                                  keyLength: 50, width: 8, heads: 2))
    }

    @Test func selfAttentionEqualsAttentionOnSlicesOfFusedQKV() throws {
        let qkv = Tensor.randn([2, 6, 3 * 8])
        let fused = try selfAttention(qkv: qkv, heads: 2)
        let q = columns(qkv, from: 0, width: 8), k = columns(qkv, from: 8, width: 8), v = columns(qkv, from: 16, width: 8)
        let sliced = try scaledDotProductAttention(query: q, key: k, value: v, heads: 2)
        #expect(fused.toArray() == sliced.toArray())
        expectClose(fused.toArray(), naiveAttention(q.toArray(), k.toArray(), v.toArray(), batch: 2, queryLength: 6,
                                                    keyLength: 6, width: 8, heads: 2))
    }

    @Test func stridedViewsEqualContiguousCopies() throws {
        // q, k, v as views with row stride 40 > width 8 (and a batch stride of their own).
        let buffer = Tensor.randn([3, 5, 40])
        let views = [columns(buffer, from: 3, width: 8), columns(buffer, from: 17, width: 8), columns(buffer, from: 30, width: 8)]
        let copies = views.map { $0.clone() }
        let leavesV = views.map { $0.requiringGrad() }, leavesC = copies.map { $0.requiringGrad() }
        let outV = try scaledDotProductAttention(query: leavesV[0], key: leavesV[1], value: leavesV[2], heads: 2)
        let outC = try scaledDotProductAttention(query: leavesC[0], key: leavesC[1], value: leavesC[2], heads: 2)
        #expect(outV.toArray() == outC.toArray())
        let g = Tensor.randn([3, 5, 8])
        try outV.backward(gradient: g)
        try outC.backward(gradient: g)
        for (a, b) in zip(leavesV, leavesC) {
            #expect(a.grad!.shape == [3, 5, 8] && a.grad!.isContiguous)
            #expect(a.grad!.toArray() == b.grad!.toArray())
        }
    }

    @Test func withoutRecordingGivesTheSameOutput() throws {
        let qkv = Tensor.randn([4, 5, 3 * 12])
        let recorded = try selfAttention(qkv: qkv.requiringGrad(), heads: 3)
        #expect(recorded.requiresGrad)
        let plain = try Autograd.withoutGradients { try selfAttention(qkv: qkv.requiringGrad(), heads: 3) }
        #expect(!plain.requiresGrad)
        #expect(recorded.toArray() == plain.toArray())
    }

    @Test func fullyMaskedRowsGiveZerosNotNaN() throws {
        let qkv = Tensor.randn([2, 3, 3 * 4]).requiringGrad()
        let inf = -Float.infinity
        // Query 1 attends to nothing; query 0 only to key 2.
        let mask = try Tensor([inf, inf, 0, inf, inf, inf, 0, 0, 0], shape: [3, 3])
        let out = try selfAttention(qkv: qkv, heads: 2, mask: mask)
        #expect(!out.hasNonFinite)
        for b in 0..<2 { for c in 0..<4 { #expect(out[b, 1, c] == 0) } }
        // Query 0 copies value row 2.
        for b in 0..<2 { for c in 0..<4 { #expect(abs(out[b, 0, c] - qkv[b, 2, 8 + c]) < 1e-6) } }
        try out.backward(gradient: Tensor.randn([2, 3, 4]))
        #expect(!qkv.grad!.hasNonFinite)
    }

    @Test func gradientsOfFusedSelfAttention() throws {
        let check = GradientCheck()
        #expect(try check.mismatches([Tensor.randn([2, 5, 3 * 8])]) { try selfAttention(qkv: $0[0], heads: 2) }.isEmpty)
        // With a learnable additive mask (a relative-position bias) per batch element.
        #expect(try check.mismatches([Tensor.randn([2, 4, 3 * 6]), Tensor.randn([2, 4, 4])]) {
            try selfAttention(qkv: $0[0], heads: 3, mask: $0[1])
        }.isEmpty)
    }

    @Test func gradientsOfCrossAttentionWithMask() throws {
        let check = GradientCheck()
        let inf = -Float.infinity
        // A causal-style constant mask with -inf entries (Tq = 3, Tk = 5).
        let causal = try Tensor([0, 0, 0, inf, inf, 0, 0, 0, 0, inf, 0, 0, 0, 0, 0], shape: [3, 5])
        #expect(try check.mismatches([Tensor.randn([2, 3, 8]), Tensor.randn([2, 5, 8]), Tensor.randn([2, 5, 8]), causal],
                                     constant: [3]) {
            try scaledDotProductAttention(query: $0[0], key: $0[1], value: $0[2], heads: 2, mask: $0[3])
        }.isEmpty)
        // A shared learnable mask: its gradient sums over batch and heads.
        #expect(try check.mismatches([Tensor.randn([2, 3, 8]), Tensor.randn([2, 5, 8]), Tensor.randn([2, 5, 8]),
                                      Tensor.randn([3, 5])]) {
            try scaledDotProductAttention(query: $0[0], key: $0[1], value: $0[2], heads: 2, mask: $0[3], scale: 0.7)
        }.isEmpty)
    }

    @Test func onlyRequiredGradientsAreComputed() throws {
        let q = Tensor.randn([2, 3, 4]), k = Tensor.randn([2, 5, 4]), v = Tensor.randn([2, 5, 4]).requiringGrad()
        let out = try scaledDotProductAttention(query: q, key: k, value: v, heads: 1)
        try out.backward(gradient: Tensor.ones([2, 3, 4]))
        #expect(v.grad?.shape == [2, 5, 4])
        #expect(q.grad == nil && k.grad == nil)
    }

    @Test func badShapesThrow() {
        let q = Tensor.zeros([2, 3, 8]), k = Tensor.zeros([2, 5, 8])
        #expect(throws: TensorError.self) { try scaledDotProductAttention(query: q, key: k, value: k, heads: 3) }
        #expect(throws: TensorError.self) {
            try scaledDotProductAttention(query: q, key: k, value: Tensor.zeros([2, 4, 8]), heads: 2)
        }
        #expect(throws: TensorError.self) {
            try scaledDotProductAttention(query: q, key: Tensor.zeros([3, 5, 8]), value: Tensor.zeros([3, 5, 8]), heads: 2)
        }
        #expect(throws: TensorError.self) {
            try scaledDotProductAttention(query: Tensor.zeros([3, 8]), key: k, value: k, heads: 2)
        }
        #expect { try scaledDotProductAttention(query: q, key: k, value: k, heads: 2, mask: Tensor.zeros([5, 3])) }
            throws: { "\($0)".contains("[5, 3]") }
        #expect(throws: TensorError.self) { try selfAttention(qkv: Tensor.zeros([2, 3, 10]), heads: 2) }
        #expect(throws: TensorError.self) { try selfAttention(qkv: Tensor.zeros([2, 3, 12]), heads: 3) }
        #expect(throws: TensorError.self) { try selfAttention(qkv: Tensor.zeros([2, 3, 12]), heads: 2, mask: Tensor.zeros([2, 3])) }
    }
}
