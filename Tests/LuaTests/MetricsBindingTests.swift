import Foundation
import Testing
@testable import AutoProgLua

@Suite struct MetricsBindingTests {
    static let checkpoint = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("models/fid-fashion-mnist-v1.safetensors").path
    static var ready: Bool {
        FileManager.default.fileExists(atPath: checkpoint)
            && FileManager.default.fileExists(atPath: "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz")
    }

    @Test func featureNetworkConstructor() throws {
        try LuaHarness().run("""
            ap.manual_seed(0)
            local m = ap.metrics.feature_network()
            assert(m:num_parameters() == 246762, m:num_parameters())
            local y = m(ap.rand(2, 1, 28, 28)); assert(y:size(1) == 2 and y:size(2) == 10)
            local small = ap.metrics.feature_network{widths = {8, 16}, classes = 3}
            assert(small(ap.rand(1, 1, 28, 28)):size(2) == 3)
            assert(m:state_dict()['blocks.4.conv.weight']:size(1) == 128)
            """)
        let h = LuaHarness()
        #expect(h.error("ap.metrics.feature_network{width = {8}}")?.message.contains("unknown option 'width'") == true)
        #expect(h.error("ap.metrics.feature_network{widths = {12}}")?.message.contains("width 12 is not a positive multiple of 8") == true)
    }

    @Test(.enabled(if: ready, "needs Fashion-MNIST and models/fid-fashion-mnist-v1.safetensors"))
    func metricsOnRealImages() throws {
        let h = LuaHarness()
        try h.run("""
            local features = '\(Self.checkpoint)'
            local test = ap.data.fashion_mnist{split = 'test'}
            local a, b = test:subset(300), test:subset((function() local t = {} for i = 301, 600 do t[#t + 1] = i end return t end)())
            local same = ap.metrics.fid{real = a, fake = a, features = features}
            local floor = ap.metrics.fid{real = a, fake = b, features = features, batch = 64}
            local noise = ap.metrics.fid{real = a, fake = ap.rand(300, 1, 28, 28), features = features}
            assert(math.abs(same) < 1e-6 and floor > 0 and floor < 0.05 * noise, same .. ' ' .. floor .. ' ' .. noise)
            -- the images of a dataset and the same images as a tensor give one number
            local images = b:images((function() local t = {} for i = 1, #b do t[i] = i end return t end)())
            assert(math.abs(ap.metrics.fid{real = a, fake = images, features = features} - floor) < 1e-9 * floor)
            local mean, std = ap.metrics.kid{real = a, fake = ap.rand(300, 1, 28, 28), features = features, subsets = 10, subset_size = 100}
            assert(mean > 0 and std >= 0)
            local overall, per_class = ap.metrics.class_accuracy{images = a, features = features}
            assert(overall > 0.85 and #per_class == 10, overall)
            local x, labels = a:batch{1, 2, 3, 4}
            local acc = ap.metrics.class_accuracy{images = x, classes = labels, features = features}
            local wrong, wrong_per_class = ap.metrics.class_accuracy{images = x, classes = {1, 1, 1, 1}, features = features}
            assert(acc >= 0.75 and wrong <= 0.5 and wrong_per_class[2] == nil)
            local net, meta = ap.metrics.load_feature_network(features)
            assert(meta.recipe == 'scripts/fid_features.lua' and tonumber(meta.test_top1) > 85 and not net.is_training)
            assert(ap.metrics.fid{real = a, fake = b, features = net} == floor)
            """)
    }

    @Test func argumentErrors() throws {
        let h = LuaHarness()
        let missing = "/nonexistent/fid-features.safetensors"
        func error(_ source: String) -> String { h.error(source)?.message ?? "(no error)" }
        #expect(error("ap.metrics.fid{real = ap.rand(2, 1, 28, 28), fake = ap.rand(2, 1, 28, 28), feature = 'x'}").contains("unknown option 'feature'"))
        #expect(error("ap.metrics.fid{fake = ap.rand(2, 1, 28, 28), features = ap.metrics.feature_network()}").contains("real = images"))
        #expect(error("ap.metrics.fid{real = ap.rand(2, 1, 28, 28), fake = 3, features = ap.metrics.feature_network()}").contains("fake must be a Tensor of images or a Dataset, got number"))
        #expect(error("ap.metrics.fid{real = ap.rand(2, 1, 28, 28), fake = ap.rand(2, 1, 28, 28), features = ap.nn.Linear(2, 2)}").contains("features must be a feature network"))
        let notFound = error("ap.metrics.fid{real = ap.rand(2, 1, 28, 28), fake = ap.rand(2, 1, 28, 28), features = '\(missing)'}")
        #expect(notFound.contains(missing) && notFound.contains("scripts/fid_features.lua"))
        let range = error("ap.metrics.fid{real = ap.rand(2, 1, 28, 28), fake = ap.randn(2, 1, 28, 28), features = ap.metrics.feature_network()}")
        #expect(range.hasPrefix("test.lua:1: ap.metrics.fid: fake: images must be in [0, 1]") && range.contains("(x + 1) / 2"))
        #expect(error("ap.metrics.fid{real = ap.rand(2, 3, 28, 28), fake = ap.rand(2, 1, 28, 28), features = ap.metrics.feature_network()}").contains("real: images must be [N, 1, H, W]"))
        #expect(error("ap.metrics.kid{real = ap.rand(2, 1, 28, 28), fake = ap.rand(2, 1, 28, 28), subsets = 0, features = ap.metrics.feature_network()}").contains("need subsets ≥ 1"))
        #expect(error("ap.metrics.class_accuracy{images = ap.rand(2, 1, 28, 28), features = ap.metrics.feature_network()}").contains("classes = the 1-based class"))
        #expect(error("ap.metrics.class_accuracy{images = ap.rand(2, 1, 28, 28), classes = {1, 11}, features = ap.metrics.feature_network()}").contains("classes[2] = 11 is not a class in 1..10"))
        #expect(error("ap.metrics.class_accuracy{images = ap.rand(2, 1, 28, 28), classes = {1}, features = ap.metrics.feature_network()}").contains("1 labels for images of shape [2, 1, 28, 28]"))
        #expect(error("ap.metrics.load_feature_network('\(missing)')").contains("scripts/fid_features.lua"))
    }
}
