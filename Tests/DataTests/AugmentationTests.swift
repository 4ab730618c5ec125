import Foundation
import Testing
@testable import AutoProg

@Suite struct AugmentationTests {
    /// A contiguous tensor's values.
    func values(_ t: Tensor) -> [Float] {
        let c = t.contiguous()
        return Array(UnsafeBufferPointer(start: c.pointer, count: c.count))
    }

    /// n images [C, H, W] with distinct values in (0, 1), labels 0..<n.
    func makeBatch(n: Int = 4, channels: Int = 3, height: Int = 8, width: Int = 8) throws -> Batch {
        let count = n * channels * height * width
        let data: [Float] = (0..<count).map { (i: Int) -> Float in Float((i * 37 + 11) % 97) / 97 + 0.004 }
        return Batch(images: try Tensor(data, shape: [n, channels, height, width]), labels: Array(0..<n), indices: Array(0..<n))
    }

    var pipeline: Compose {
        Compose([RandomResizedCrop(size: 6), RandomHorizontalFlip(), RandAugmentLite(magnitude: 9, magnitudeStd: 0.5),
                 RandomErasing(probability: 0.5), MixupCutmix(classes: 5)])
    }

    @Test func sameStreamSameBitsDifferentStreamDifferent() throws {
        let batch = try makeBatch()
        var r1 = RandomStream.augmentation(seed: 7, epoch: 2, batch: 3)
        var r2 = RandomStream.augmentation(seed: 7, at: .init(epoch: 2, batch: 3))
        var r3 = RandomStream.augmentation(seed: 7, epoch: 2, batch: 4)
        let a = try pipeline.apply(batch, random: &r1), b = try pipeline.apply(batch, random: &r2)
        let c = try pipeline.apply(batch, random: &r3)
        #expect(values(a.images).map(\.bitPattern) == values(b.images).map(\.bitPattern))
        #expect(values(a.targets!).map(\.bitPattern) == values(b.targets!).map(\.bitPattern))
        #expect(r1 == r2)
        #expect(values(a.images) != values(c.images))
        #expect(a.images.shape == [4, 3, 6, 6] && a.targets!.shape == [4, 5] && a.labels == batch.labels)
        #expect(values(batch.images) == values(try makeBatch().images))   // the input is never written
    }

    @Test func eachSampleDrawsFromItsOwnStreamWhateverTheThreading() throws {
        let batch = try makeBatch(n: 6)
        let transform = RandAugmentLite(operations: 3, magnitude: 7, magnitudeStd: 0.5)
        var random = RandomStream(seed: 11), replay = random
        let out = values(try transform.apply(batch, random: &random).images)
        let streams = replay.sampleStreams(6)
        let size = 3 * 8 * 8, x = batch.images
        for i in 0..<6 {
            var stream = streams[i]
            let image = Tensor(storage: x.storage, offset: i * size, shape: [3, 8, 8])
            #expect(values(try transform.transform(image, random: &stream)) == Array(out[(i * size)..<((i + 1) * size)]))
        }
        #expect(random == replay)
        #expect(Set(streams.map(\.philox.key)).count == 6)
    }

    @Test func shapesAndValueRanges() throws {
        let batch = try makeBatch()
        var random = RandomStream(seed: 1)
        let cropped = try RandomResizedCrop(size: 5).apply(batch, random: &random)
        #expect(cropped.images.shape == [4, 3, 5, 5] && cropped.targets == nil)
        let (lo, hi) = (values(batch.images).min()!, values(batch.images).max()!)
        #expect(values(cropped.images).allSatisfy { $0 >= lo - 1e-6 && $0 <= hi + 1e-6 })   // bilinear is a convex blend
        for _ in 0..<5 {
            let augmented = try RandAugmentLite(operations: 3, magnitude: 10, probability: 1).apply(batch, random: &random)
            #expect(augmented.images.shape == batch.images.shape)
            #expect(values(augmented.images).allSatisfy { $0 >= 0 && $0 <= 1 })
        }
        for _ in 0..<20 {
            let box = RandomResizedCrop(size: 4).box(height: 10, width: 7, random: &random)
            #expect(box.top >= 0 && box.left >= 0 && box.top + box.height <= 10 && box.left + box.width <= 7)
            #expect(box.height > 0 && box.width > 0)
        }
    }

    @Test func flipTwiceIsIdentityAndFlipReversesRows() throws {
        let batch = try makeBatch(width: 5)
        var random = RandomStream(seed: 2)
        let flip = RandomHorizontalFlip(probability: 1)
        let once = try flip.apply(batch, random: &random)
        let twice = try flip.apply(Batch(images: once.images, labels: batch.labels, indices: batch.indices), random: &random)
        #expect(values(twice.images) == values(batch.images))
        let (x, y) = (values(batch.images), values(once.images))
        #expect(y[0] == x[4] && y[4] == x[0] && y[2] == x[2] && y[5] == x[9])
        #expect(values(try RandomHorizontalFlip(probability: 0).apply(batch, random: &random).images) == x)
    }

    @Test func fullScaleSquareCropEqualsResizeOfWholeImage() throws {
        let batch = try makeBatch(height: 8, width: 8)
        var random = RandomStream(seed: 3)
        let crop = RandomResizedCrop(size: 5, scale: 1...1, ratio: 1...1)
        let cropped = try crop.apply(batch, random: &random)
        let resized = try resize(batch.images, height: 5, width: 5, mode: .bilinear)
        #expect(values(cropped.images) == values(resized))
        // No 1:1 box of the full area fits 6×8, so torchvision's fallback: the centered 6×6 square.
        #expect(crop.box(height: 6, width: 8, random: &random) == .init(top: 0, left: 1, height: 6, width: 6))
    }

    @Test func erasingChangesOneRectangleAndNothingElse() throws {
        let batch = Batch(images: Tensor.full([2, 3, 10, 12], 0.5), labels: [0, 1], indices: [0, 1])
        let erasing = RandomErasing(probability: 1)
        for seed in UInt64(0)..<5 {
            var random = RandomStream(seed: seed), replay = random
            let out = values(try erasing.apply(batch, random: &random).images)
            let streams = replay.sampleStreams(2)
            for sample in 0..<2 {
                var stream = streams[sample]
                let box = try #require(erasing.box(height: 10, width: 12, random: &stream))
                let area = Float(box.height * box.width) / 120
                #expect(area <= 1.0 / 3 + 0.05)   // rounding of the sides moves the area a little
                #expect(box.height > 0 && box.width > 0 && box.height < 10 && box.width < 12)   // timm keeps boxes strictly inside
                for c in 0..<3 { for y in 0..<10 { for x in 0..<12 {
                    let v = out[((sample * 3 + c) * 10 + y) * 12 + x]
                    let inside = (box.top..<(box.top + box.height)).contains(y) && (box.left..<(box.left + box.width)).contains(x)
                    #expect(inside ? v != 0.5 : v == 0.5)
                } } }
            }
            #expect(random == replay)
        }
        var random = RandomStream(seed: 9)
        #expect(values(try RandomErasing(probability: 0).apply(batch, random: &random).images).allSatisfy { $0 == 0.5 })
    }

    @Test func mixupBlendsReversedBatchAndTargetsSumToOne() throws {
        let batch = try makeBatch(n: 4)
        let mixup = MixupCutmix(cutmixAlpha: 0, classes: 6)
        var random = RandomStream(seed: 4), replay = random
        let out = try mixup.apply(batch, random: &random)
        let p = try mixup.parameters(height: 8, width: 8, random: &replay)
        #expect(p.box == nil && p.lambda > 0 && p.lambda < 1)
        let (x, y, size) = (values(batch.images), values(out.images), 3 * 8 * 8)
        for i in 0..<4 {
            for j in stride(from: 0, to: size, by: 7) {
                let expected = p.lambda * x[i * size + j] + (1 - p.lambda) * x[(3 - i) * size + j]
                #expect(abs(y[i * size + j] - expected) < 1e-6)
            }
        }
        let t = values(out.targets!)
        for i in 0..<4 {
            let row = Array(t[(i * 6)..<(i * 6 + 6)])
            #expect(abs(row.reduce(0, +) - 1) < 1e-5)
            let off: Float = 0.1 / 6
            #expect(abs(row[i] - (off + p.lambda * 0.9)) < 1e-6 && abs(row[3 - i] - (off + (1 - p.lambda) * 0.9)) < 1e-6)
            #expect(abs(row[4] - off) < 1e-7)
        }
        // λ statistics over many batches: Beta(0.8, 0.8) has mean 1/2 and variance 0.64/(2.56·2.6) ≈ 0.0962.
        var lambdas: [Double] = []
        var stream = RandomStream(seed: 5)
        for _ in 0..<4000 { lambdas.append(Double(try mixup.parameters(height: 8, width: 8, random: &stream).lambda)) }
        let mean = lambdas.reduce(0, +) / 4000
        let variance = lambdas.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 4000
        #expect(abs(mean - 0.5) < 0.015)
        #expect(abs(variance - 0.0962) < 0.008)
    }

    @Test func cutmixBoxAreaMatchesLambda() throws {
        let n = 4
        let images = Tensor(uninitializedShape: [n, 2, 10, 16])
        for i in 0..<n { for j in 0..<(2 * 160) { images.pointer[i * 320 + j] = Float(i) } }
        let batch = Batch(images: images, labels: [0, 1, 2, 3], indices: [0, 1, 2, 3])
        let cutmix = MixupCutmix(mixupAlpha: 0, labelSmoothing: 0, classes: 4)
        var sawPartialBox = false
        for seed in UInt64(0)..<20 {
            var random = RandomStream(seed: seed), replay = random
            let out = try cutmix.apply(batch, random: &random)
            let p = try cutmix.parameters(height: 10, width: 16, random: &replay)
            let box = try #require(p.box)
            let y = values(out.images), t = values(out.targets!)
            let pasted = y[0..<320].filter { $0 == Float(n - 1) }.count
            #expect(pasted == 2 * box.height * box.width)
            #expect(abs(Float(pasted) / 320 - (1 - p.lambda)) < 1e-6)
            #expect(abs(t[0] - p.lambda) < 1e-6 && abs(t[3] - (1 - p.lambda)) < 1e-6)
            if box.height > 0 && box.height < 10 { sawPartialBox = true }
        }
        #expect(sawPartialBox)
    }

    @Test func betaAndGammaSamplerMoments() {
        var random = RandomStream(seed: 6)
        func moments(_ n: Int, _ draw: () -> Double) -> (Double, Double) {
            let xs = (0..<n).map { _ in draw() }
            let mean = xs.reduce(0, +) / Double(n)
            return (mean, xs.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(n))
        }
        // Beta(a, b): mean a/(a+b), variance ab/((a+b)²(a+b+1)).
        for (a, b) in [(2.0, 5.0), (0.5, 0.5), (0.8, 0.8)] {
            let (mean, variance) = moments(20000) { random.nextBeta(a, b) }
            let (m, v) = (a / (a + b), a * b / ((a + b) * (a + b) * (a + b + 1)))
            #expect(abs(mean - m) < 5 * (v / 20000).squareRoot())
            #expect(abs(variance / v - 1) < 0.06)
        }
        for shape in [0.3, 1.0, 3.0] {   // Gamma(k, 1): mean = variance = k
            let (mean, variance) = moments(20000) { random.nextGamma(shape: shape) }
            #expect(abs(mean / shape - 1) < 0.04)
            #expect(abs(variance / shape - 1) < 0.1)
        }
    }

    @Test func magnitudeZeroOperationsAreIdentity() throws {
        let image = try Tensor((0..<(3 * 7 * 9)).map { Float(($0 * 13) % 50) / 51 }, shape: [3, 7, 9])
        let identityAtZero: [RandAugmentLite.Operation] = [.identity, .brightness, .contrast, .translateX, .translateY, .rotate, .solarize]
        for op in identityAtZero {
            for negate in [false, true] {
                #expect(values(try RandAugmentLite.apply(op, magnitude: 0, negate: negate, to: image)) == values(image), "\(op)")
            }
        }
        var random = RandomStream(seed: 8)
        let whole = RandAugmentLite(operations: 4, magnitude: 0, probability: 1, choices: identityAtZero)
        #expect(values(try whole.transform(image, random: &random)) == values(image))
        // Posterize keeps 4 bits at M = 0 (timm's PosterizeIncreasing), so it is not the identity.
        #expect(values(try RandAugmentLite.apply(.posterize, magnitude: 0, to: image)) != values(image))
    }

    @Test func operationsAtFullMagnitude() throws {
        let x = try Tensor((0..<16).map { Float($0) / 15 }, shape: [1, 4, 4])
        let v = values(x)
        // Translate 0.45·4 → 2 pixels left; negated, 2 pixels right.
        let left = values(try RandAugmentLite.apply(.translateX, magnitude: 10, to: x))
        #expect(left[0] == v[2] && left[1] == v[3] && left[2] == 0 && left[3] == 0)
        let down = values(try RandAugmentLite.apply(.translateY, magnitude: 10, negate: true, to: x))
        #expect(Array(down[0..<8]) == [Float](repeating: 0, count: 8) && Array(down[8..<16]) == Array(v[0..<8]))
        #expect(values(try RandAugmentLite.apply(.solarize, magnitude: 10, to: x)) == v.map { 1 - $0 })
        #expect(values(try RandAugmentLite.apply(.brightness, magnitude: 10, negate: true, to: x)) == v.map { $0 * (1 - 0.9) })
        let mean = v.reduce(0, +) / 16   // one channel: the gray level is the plain mean
        let flattened = values(try RandAugmentLite.apply(.contrast, magnitude: 10, negate: true, to: x))
        #expect(zip(flattened, v).allSatisfy { abs($0 - (0.1 * $1 + 0.9 * mean)) < 1e-6 })
        let posterized = values(try RandAugmentLite.apply(.posterize, magnitude: 5, to: x))   // 2 bits: multiples of 64/255
        #expect(posterized.allSatisfy { (Int(($0 * 255).rounded()) & 63) == 0 })
        let stretched = values(try RandAugmentLite.apply(.autoContrast, magnitude: 0, to: try Tensor(v.map { 0.2 + 0.5 * $0 }, shape: [1, 4, 4])))
        #expect(abs(stretched.min()!) < 1e-6 && abs(stretched.max()! - 1) < 1e-6)
        let equalized = values(try RandAugmentLite.apply(.equalize, magnitude: 0, to: try Tensor(v.map { $0 * $0 }, shape: [1, 4, 4])))
        #expect(zip(equalized, equalized.dropFirst()).allSatisfy { $0 <= $1 } && equalized.last! > 0.9)
        // The affine sampler at 90°: out[y][x] = in[x][W−1−y] (content turns counter-clockwise).
        let rotated = Tensor(uninitializedShape: [1, 4, 4])
        AffineSampler.rotation(degrees: 90, height: 4, width: 4).sample(x.pointer, into: rotated.pointer, channels: 1, height: 4, width: 4)
        let r = values(rotated)
        for y in 0..<4 { for xx in 0..<4 { #expect(abs(r[y * 4 + xx] - v[xx * 4 + 3 - y]) < 1e-5) } }
    }

    @Test func badInputsThrow() throws {
        var random = RandomStream(seed: 10)
        let odd = try makeBatch(n: 3)
        #expect(throws: TensorError.self) { try MixupCutmix(classes: 5).apply(odd, random: &random) }
        #expect(throws: TensorError.self) { try MixupCutmix(classes: 2).apply(try makeBatch(n: 4), random: &random) }
        #expect(throws: TensorError.self) { try MixupCutmix(mixupAlpha: 0, cutmixAlpha: 0, classes: 5).apply(try makeBatch(), random: &random) }
        let flat = Batch(images: Tensor.zeros([2, 8, 8]), labels: [0, 1], indices: [0, 1])
        #expect(throws: TensorError.self) { try RandomResizedCrop(size: 4).apply(flat, random: &random) }
        #expect(throws: TensorError.self) { try RandomResizedCrop(size: 0).apply(try makeBatch(), random: &random) }
        #expect(throws: TensorError.self) { try RandAugmentLite(magnitude: 11).apply(try makeBatch(), random: &random) }
        let twice = Compose([MixupCutmix(classes: 5), MixupCutmix(classes: 5)])
        #expect(throws: TensorError.self) { try twice.apply(try makeBatch(), random: &random) }
    }
}
