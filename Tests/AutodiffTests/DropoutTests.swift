import Testing
import CKernels
@testable import AutoProg

@Suite struct DropoutTests {
    @Test func identityWhenNotTrainingOrZeroProbability() throws {
        let x = Tensor.randn([4, 5])
        #expect(try dropout(x, probability: 0.5, training: false).storage === x.storage)
        #expect(try dropout(x, probability: 0, training: true).storage === x.storage)
        #expect(try dropPath(x, probability: 0.5, training: false).storage === x.storage)
    }

    @Test func dropsAboutPAndScalesSurvivors() throws {
        Random.manualSeed(7)
        let x = Tensor.ones([100, 1000])
        let y = try dropout(x, probability: 0.3, training: true).toArray()
        let zeros = y.filter { $0 == 0 }.count
        #expect(abs(Double(zeros) / 1e5 - 0.3) < 0.01)
        #expect(y.allSatisfy { $0 == 0 || abs($0 - 1 / 0.7) < 1e-6 })
        #expect(try dropout(x, probability: 1, training: true).toArray().allSatisfy { $0 == 0 })
    }

    @Test func maskKernelMatchesSwiftPhilox() {
        // The C generator must reproduce Philox.block and RandomStream.unitFloat exactly,
        // from any block-aligned start (vector body and scalar tail).
        let key: UInt64 = 0x1234_5678_9ABC_DEF0, counter: UInt64 = 0xFFFF_FFF0  // crosses 2³²
        let n = 1003
        var mask = [Float](repeating: -1, count: n)
        mask.withUnsafeMutableBufferPointer { m in
            ck_dropout_mask(key, counter, 0, 500, 0.6, 2.5, m.baseAddress!)
            ck_dropout_mask(key, counter, 500, n - 500, 0.6, 2.5, m.baseAddress! + 500)
        }
        var expected: [Float] = []
        for b in 0..<((n + 3) / 4) {
            let (w0, w1, w2, w3) = Philox.block(key: key, index: counter + UInt64(b))
            for w in [w0, w1, w2, w3] where expected.count < n {
                expected.append(RandomStream.unitFloat(w) < 0.6 ? 2.5 : 0)
            }
        }
        #expect(mask == expected)
    }

    @Test func deterministicAndAdvancesTheDropoutStream() throws {
        let x = Tensor.randn([3, 7])
        Random.manualSeed(11)
        let a = try dropout(x, probability: 0.5, training: true).toArray()
        let after = Random.state["dropout"]
        Random.manualSeed(11)
        let b = try dropout(x, probability: 0.5, training: true).toArray()
        #expect(a == b)
        #expect(after == 6)  // ⌈21 / 4⌉ Philox blocks
        #expect(try dropout(x, probability: 0.5, training: true).toArray() != a)
    }

    @Test func dropPathDropsWholeSamples() throws {
        Random.manualSeed(3)
        let x = Tensor.ones([64, 3, 5])
        let y = try dropPath(x, probability: 0.25, training: true).toArray()
        var dropped = 0
        for s in 0..<64 {
            let sample = y[(s * 15)..<(s * 15 + 15)]
            #expect(sample.allSatisfy { $0 == sample.first! })
            if sample.first! == 0 { dropped += 1 } else { #expect(abs(sample.first! - 1 / 0.75) < 1e-6) }
        }
        #expect(dropped > 4 && dropped < 32)
    }

    @Test func gradientsReuseTheMask() throws {
        let check = GradientCheck()
        // Reseeding inside the closure makes every evaluation draw the same mask.
        #expect(try check.mismatches([Tensor.randn([4, 9])]) {
            Random.manualSeed(5)
            return try dropout($0[0], probability: 0.4, training: true)
        }.isEmpty)
        #expect(try check.mismatches([Tensor.randn([6, 2, 3])]) {
            Random.manualSeed(5)
            return try dropPath($0[0], probability: 0.5, training: true)
        }.isEmpty)
        // And the gradient is exactly the mask.
        Random.manualSeed(9)
        let x = Tensor.randn([50]).requiringGrad()
        let y = try dropout(x, probability: 0.5, training: true)
        try y.backward(gradient: Tensor.ones([50]))
        let xv = x.toArray(), yv = y.toArray()
        #expect(zip(x.grad!.toArray(), zip(xv, yv)).allSatisfy { g, p in abs(g * p.0 - p.1) < 1e-6 })
    }

    @Test func badProbabilityThrows() {
        #expect { try dropout(Tensor.zeros([2]), probability: 1.5, training: true) } throws: { "\($0)".contains("dropout") }
        #expect { try dropPath(Tensor.zeros([2]), probability: -0.1, training: true) } throws: { "\($0)".contains("drop_path") }
        #expect { try dropPath(Tensor(scalar: 1), probability: 0.1, training: true) } throws: { "\($0)".contains("drop_path") }
    }
}
