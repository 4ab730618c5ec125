import Foundation
import Testing
@testable import AutoProg

/// Naive mean cross-entropy against a target distribution per row (Double).
private func naiveCrossEntropy(_ logits: Tensor, _ q: [[Double]]) -> Double {
    let n = logits.shape[0], k = logits.shape[1], v = logits.toArray()
    var total = 0.0
    for i in 0..<n {
        let row = (0..<k).map { Double(v[i * k + $0]) }
        let m = row.max()!
        let lse = m + log(row.map { exp($0 - m) }.reduce(0, +))
        total += (0..<k).map { -q[i][$0] * (row[$0] - lse) }.reduce(0, +)
    }
    return total / Double(n)
}

private func smoothed(_ targets: [Int], classes k: Int, _ eps: Double) -> [[Double]] {
    targets.map { t in (0..<k).map { ($0 == t ? 1 - eps : 0) + eps / Double(k) } }
}

@Suite struct LossTests {
    @Test func uniformLogitsGiveLogK() throws {
        let loss = try crossEntropy(Tensor.full([4, 10], 3), targets: [0, 3, 9, 5])
        #expect(abs(try loss.item() - Float(log(10.0))) < 1e-6)
        #expect(loss.shape == [])
    }

    @Test func hardTargetsMatchNaive() throws {
        // 19 classes: vector body and tail.
        let x = Tensor.randn([6, 19], std: 4), t = [0, 18, 7, 7, 3, 11]
        for eps in [0.0, 0.1, 1.0] {
            let loss = try crossEntropy(x, targets: t, labelSmoothing: Float(eps)).item()
            #expect(abs(Double(loss) - naiveCrossEntropy(x, smoothed(t, classes: 19, eps))) < 1e-5)
        }
    }

    @Test func softTargetsMatchNaive() throws {
        let x = Tensor.randn([5, 12], std: 3)
        let p = try softmax(Tensor.randn([5, 12]))
        let q = (0..<5).map { i in (0..<12).map { Double(p.toArray()[i * 12 + $0]) } }
        #expect(abs(Double(try crossEntropy(x, probabilities: p).item()) - naiveCrossEntropy(x, q)) < 1e-5)
        // One-hot probabilities agree with class indices.
        let onehot = Tensor.zeros([5, 12])
        let t = [1, 0, 11, 4, 4]
        for (i, c) in t.enumerated() { onehot.pointer[i * 12 + c] = 1 }
        #expect(abs(try crossEntropy(x, probabilities: onehot).item() - crossEntropy(x, targets: t).item()) < 1e-5)
    }

    @Test func stableForHugeLogits() throws {
        let x = try Tensor([1e4, 0, -1e4, 0], shape: [2, 2])
        let loss = try crossEntropy(x, targets: [1, 0]).item()
        #expect(abs(loss - 1e4) < 1)
    }

    @Test func gradients() throws {
        let check = GradientCheck()
        let x = Tensor.randn([4, 9])
        #expect(try check.mismatches([x]) { try crossEntropy($0[0], targets: [2, 0, 8, 5]) }.isEmpty)
        #expect(try check.mismatches([x]) { try crossEntropy($0[0], targets: [2, 0, 8, 5], labelSmoothing: 0.2) }.isEmpty)
        let p = try softmax(Tensor.randn([4, 9]))
        #expect(try check.mismatches([x, p], constant: [1]) { try crossEntropy($0[0], probabilities: $0[1]) }.isEmpty)
        #expect(try check.mismatches([Tensor.randn([3, 5]), Tensor.randn([3, 5])]) { try mseLoss($0[0], $0[1]) }.isEmpty)
    }

    @Test func mseValueAndTargetGradient() throws {
        let a = Tensor([1, 2, 3, 4]).requiringGrad(), b = Tensor([0, 2, 5, 4])
        let loss = try mseLoss(a, b)
        #expect(try loss.item() == 1.25)
        try loss.backward()
        #expect(a.grad!.toArray() == [0.5, 0, -1, 0])
        #expect(b.grad == nil)
    }

    @Test func nonFiniteLossIsDetected() throws {
        #expect(isFiniteLoss(try crossEntropy(Tensor.randn([2, 3]), targets: [0, 1])))
        let nan = try Tensor([0, .nan, 1, 2, 3, 4], shape: [2, 3])
        #expect(!isFiniteLoss(try crossEntropy(nan, targets: [0, 1])))
        #expect(!isFiniteLoss(try mseLoss(Tensor([.infinity]), Tensor([0]))))
    }

    @Test func badInputsThrow() {
        let x = Tensor.zeros([2, 3])
        #expect { try crossEntropy(x, targets: [0, 3]) } throws: {
            "\($0)".contains("cross_entropy") && "\($0)".contains("target 3") && "\($0)".contains("3 classes")
        }
        #expect { try crossEntropy(x, targets: [-1, 0]) } throws: { "\($0)".contains("target -1") }
        #expect { try crossEntropy(x, targets: [0]) } throws: { "\($0)".contains("1 targets") && "\($0)".contains("[2, 3]") }
        #expect { try crossEntropy(x, targets: [0, 1], labelSmoothing: 1.5) } throws: { "\($0)".contains("label smoothing") }
        #expect { try crossEntropy(Tensor.zeros([6]), targets: [0]) } throws: { "\($0)".contains("[6]") }
        #expect { try crossEntropy(x, probabilities: Tensor.zeros([3, 2])) } throws: { "\($0)".contains("[3, 2]") }
        #expect { try mseLoss(x, Tensor.zeros([3, 2])) } throws: { "\($0)".contains("mse_loss") && "\($0)".contains("[3, 2]") }
    }
}
