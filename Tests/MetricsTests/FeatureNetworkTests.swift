import Foundation
import Testing
@testable import AutoProg

/// The shipped feature network (models/fid-fashion-mnist-v1.safetensors) on real
/// Fashion-MNIST test images, and its loading errors.
@Suite struct FeatureNetworkTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let checkpoint = repository.appendingPathComponent(FeatureNetwork.defaultCheckpointPath)
    static let fashionDirectory = "/usr/share/datasets/fashion-mnist"
    static var haveFashionMNIST: Bool { FileManager.default.fileExists(atPath: fashionDirectory + "/t10k-labels-idx1-ubyte.gz") }

    static func message(_ body: () throws -> Void) -> String {
        do { try body(); return "" } catch { return String(describing: error) }
    }

    static func temporaryFile(_ name: String) -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("autoprog-metrics-\(UUID().uuidString)-\(name)")
    }

    @Test func architectureHasPyTorchNamesAndShapes() throws {
        let net = try FeatureNetwork()
        let shapes = Dictionary(uniqueKeysWithValues: net.stateDict().map { ($0.key, $0.value.shape) })
        #expect(shapes["blocks.0.conv.weight"] == [16, 1, 3, 3] && shapes["blocks.1.conv.weight"] == [32, 16, 3, 3])
        #expect(shapes["blocks.4.conv.weight"] == [128, 128, 3, 3] && shapes["blocks.4.norm.bias"] == [128])
        #expect(shapes["head.weight"] == [10, 128] && shapes.count == 22)
        // Σ over blocks of out·in·9 + out (conv) + 2·out (norm), plus the head's 128·10 + 10.
        #expect(net.parameterCount == 192 + 4_704 + 18_624 + 74_112 + 147_840 + 1_290)
        let x = Tensor.rand([3, 1, 28, 28])
        #expect(try net.features(x).shape == [3, 128] && net(x).shape == [3, 10])
        // Every parameter gets a gradient from the classification loss.
        try crossEntropy(net(x), targets: [0, 5, 9]).backward()
        for (name, p) in net.namedParameters() {
            #expect(p.grad.toArray().contains { $0 != 0 }, "\(name) got no gradient")
        }
        #expect(Self.message { _ = try FeatureNetwork(.init(channels: 1, widths: [30], classes: 10)) }.contains("width 30"))
    }

    @Test(.enabled(if: haveFashionMNIST, "Fashion-MNIST (dataset-fashion-mnist) is not installed"))
    func shippedCheckpointClassifiesRealImages() throws {
        let net = try FeatureNetwork.load(Self.checkpoint)
        #expect(net.configuration == .fashionMNIST && !net.isTraining)
        #expect(net.checkpointMetadata["recipe"] == "scripts/fid_features.lua")
        let reported = try #require(net.checkpointMetadata["test_top1"].flatMap(Double.init))
        let test = try FashionMNIST(split: .test)
        let accuracy = try classConditionalAccuracy(dataset: DatasetSubset(test, first: 500), classifier: net)
        #expect(accuracy.overall >= 0.85, "\(accuracy.overall) on 500 test images (checkpoint reports \(reported)% on the test set)")
        #expect(accuracy.counts.reduce(0, +) == 500 && accuracy.perClass.allSatisfy { $0 != nil })

        // The same images judged against the wrong intended classes score low: the labels count.
        let batch = try test.batch(Array(0..<500))
        let right = try classConditionalAccuracy(images: batch.images, labels: batch.labels, classifier: net)
        let wrong = try classConditionalAccuracy(images: batch.images, labels: batch.labels.map { ($0 + 1) % 10 }, classifier: net)
        #expect(right == accuracy)
        #expect(wrong.overall < 0.2)
    }

    /// The versioned emoji network (models/fid-emoji32-v1) judges the target categories, a
    /// class selection of the 8, by mapping their labels back to its classes.
    @Test func aClassSelectionIsJudgedByAClassifierOfAllItsClasses() throws {
        let net = try FeatureNetwork.load(Self.repository.appendingPathComponent("models/fid-emoji32-v1.safetensors"))
        let target = try ClassSubset(try Gemojione(imageSize: 32), classes: [1, 2, 3, 4])
        let subset = DatasetSubset(target, first: 100)
        #expect(subset.fullDatasetClasses.classes == [1, 2, 3, 4] && subset.fullDatasetClasses.count == 8)
        let accuracy = try classConditionalAccuracy(dataset: subset, classifier: net)
        let batch = try subset.batch(Array(0..<100))
        let direct = try classConditionalAccuracy(images: batch.images, labels: batch.labels.map { $0 + 1 }, classifier: net)
        #expect(accuracy == direct && accuracy.overall > 0.5 && accuracy.counts.reduce(0, +) == 100)
        let four = try FeatureNetwork(.init(channels: 3, widths: [16, 32, 64, 128, 128], classes: 4))
        #expect(Self.message { _ = try classConditionalAccuracy(dataset: subset, classifier: four) }
            .contains("classes are from a dataset of 8 classes, the classifier has 4"))
    }

    @Test(.enabled(if: haveFashionMNIST, "Fashion-MNIST (dataset-fashion-mnist) is not installed"))
    func realHalvesAreCloserThanRealAndNoise() throws {
        let net = try FeatureNetwork.load(Self.checkpoint)
        let test = try FashionMNIST(split: .test)
        let a = try net.extractFeatures(DatasetSubset(test, indices: Array(0..<500)))
        let b = try net.extractFeatures(DatasetSubset(test, indices: Array(500..<1000)))
        var stream = RandomStream(seed: 0, purpose: "test")
        let noise = Tensor(uninitializedShape: [500, 1, 28, 28])
        stream.fillUniform(noise.pointer, count: noise.count)
        let n = try net.extractFeatures(noise)
        #expect(a.shape == [500, 128])
        let floor = try frechetDistance(a, b), far = try frechetDistance(a, n)
        #expect(floor > 0 && floor < 0.05 * far, "FID real/real \(floor), real/noise \(far)")
        let kidFloor = try kernelInceptionDistance(a, b, subsets: 20, subsetSize: 250)
        let kidFar = try kernelInceptionDistance(a, n, subsets: 20, subsetSize: 250)
        #expect(kidFloor.mean < 0.05 * kidFar.mean, "KID real/real \(kidFloor), real/noise \(kidFar)")
    }

    @Test func imagesOutsideTheUnitRangeAreRejected() throws {
        let net = try FeatureNetwork()
        let samples = try Tensor.rand([4, 1, 28, 28]) * 2 - 1
        #expect(Self.message { _ = try net.extractFeatures(samples) }.contains("map samples from [−1, 1] with ((x + 1) / 2)"))
        #expect(Self.message { _ = try net.extractFeatures(Tensor.rand([4, 3, 28, 28])) }.contains("must be [N, 1, H, W]"))
        #expect(try net.extractFeatures(try (samples + 1) / 2, batchSize: 3).shape == [4, 128])
    }

    @Test func loadingErrorsNameTheFile() throws {
        let missing = Self.temporaryFile("missing.safetensors")
        let m = Self.message { _ = try FeatureNetwork.load(missing) }
        #expect(m.contains(missing.path) && m.contains("scripts/fid_features.lua"))

        let corrupt = Self.temporaryFile("corrupt.safetensors")
        try Data("not a safetensors file at all".utf8).write(to: corrupt)
        defer { try? FileManager.default.removeItem(at: corrupt) }
        #expect(Self.message { _ = try FeatureNetwork.load(corrupt) }.contains(corrupt.path))

        let other = Self.temporaryFile("linear.safetensors")
        try SafeTensors.write(Linear(4, 2).stateDict(), to: other)
        defer { try? FileManager.default.removeItem(at: other) }
        #expect(Self.message { _ = try FeatureNetwork.load(other) }.contains("is not a feature network: no blocks.0.conv.weight"))

        let extra = Self.temporaryFile("extra.safetensors")
        var state = try FeatureNetwork().stateDict()
        state["blocks.0.conv.scale"] = Tensor.ones([1])
        try SafeTensors.write(state, to: extra)
        defer { try? FileManager.default.removeItem(at: extra) }
        #expect(Self.message { _ = try FeatureNetwork.load(extra) }.contains("unexpected keys: blocks.0.conv.scale"))

        let mismatched = Self.temporaryFile("mismatched.safetensors")
        state = try FeatureNetwork().stateDict()
        state["head.bias"] = Tensor.zeros([7])
        try SafeTensors.write(state, to: mismatched)
        defer { try? FileManager.default.removeItem(at: mismatched) }
        #expect(Self.message { _ = try FeatureNetwork.load(mismatched) }.contains("head.bias: checkpoint shape [7], model shape [10]"))
    }

    @Test func loadingLeavesTheRandomStreamsAlone() throws {
        let file = Self.temporaryFile("net.safetensors")
        try SafeTensors.write(try FeatureNetwork(.init(channels: 1, widths: [8, 16], classes: 3)).stateDict(), to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        Random.manualSeed(11)
        let before = Random.state
        let net = try FeatureNetwork.load(file)
        #expect(Random.state == before)
        #expect(net.configuration == .init(channels: 1, widths: [8, 16], classes: 3))
    }

    @Test func confusionTally() {
        let a = ClassConditionalAccuracy(labels: [0, 0, 1, 2], predicted: [0, 1, 1, 0], classes: 4)
        #expect(a.overall == 0.5 && a.perClass == [0.5, 1, 0, nil] && a.counts == [2, 1, 1, 0])
        #expect(a.confusion[0] == [1, 1, 0, 0] && a.confusion[2] == [1, 0, 0, 0])
    }
}
