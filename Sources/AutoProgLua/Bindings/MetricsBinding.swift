import AutoProg
import CLua
import Foundation

/// `ap.metrics`: FID, KID and class-conditional accuracy of generated images, with
/// autoprog's own Fashion-MNIST feature network in place of Inception-v3.
///
/// Image sets are [N, 1, 28, 28] tensors in [0, 1] or datasets (`ap.data` objects);
/// `features` is a checkpoint path or a feature network module, and defaults to
/// models/fid-fashion-mnist-v1.safetensors (see `FeatureNetwork.locateDefaultCheckpoint`).
extension LuaState {
    func installMetrics(_ ap: Int32) {
        pushSubtable(of: ap, "metrics")
        documentation["ap.metrics"] = "Sample quality: ap.metrics.fid{...}, ap.metrics.kid{...}, ap.metrics.class_accuracy{...}, ap.metrics.feature_network{...}, ap.metrics.load_feature_network([path]). Images in [0, 1]: map samples from [−1, 1] with ((x + 1) / 2):clamp(0, 1)."
        register(metricsFunctions, in: -1, path: "ap.metrics")
        lua_settop(L, -2)
    }

    private var metricsFunctions: [LuaBinding] {
        [
            LuaBinding("fid", "ap.metrics.fid{real=, fake=, features=, batch=250}: the Fréchet distance between the feature network's features of two image sets (tensors [N, 1, 28, 28] in [0, 1] or datasets); features = checkpoint path or feature network (default models/fid-fashion-mnist-v1.safetensors).") { call in
                let context = "ap.metrics.fid"
                let o = try LuaOptions(call, 1, valid: ["real", "fake", "features", "batch"], context: context)
                let (network, batch) = try LuaState.featureNetwork(o, context: context)
                let real = try LuaState.imageFeatures(o, "real", network: network, batch: batch, context: context)
                let fake = try LuaState.imageFeatures(o, "fake", network: network, batch: batch, context: context)
                call.push(try frechetDistance(real, fake))
                return 1
            },
            LuaBinding("kid", "ap.metrics.kid{real=, fake=, features=, subsets=100, subset_size=1000, seed=0, batch=250}: the Kernel Inception Distance (unbiased MMD², cubic kernel) over random subsets; returns its mean and standard deviation.") { call in
                let context = "ap.metrics.kid"
                let o = try LuaOptions(call, 1, valid: ["real", "fake", "features", "subsets", "subset_size", "seed", "batch"],
                                       context: context)
                let (network, batch) = try LuaState.featureNetwork(o, context: context)
                let subsets = try o.integer("subsets") ?? 100, size = try o.integer("subset_size") ?? 1000
                let seed = try o.integer("seed") ?? 0
                guard subsets >= 1, size >= 2, seed >= 0 else {
                    throw LuaBindingError("\(context): need subsets ≥ 1, subset_size ≥ 2 and seed ≥ 0 (got \(subsets), \(size), \(seed))")
                }
                let real = try LuaState.imageFeatures(o, "real", network: network, batch: batch, context: context)
                let fake = try LuaState.imageFeatures(o, "fake", network: network, batch: batch, context: context)
                let kid = try kernelInceptionDistance(real, fake, subsets: subsets, subsetSize: size, seed: UInt64(seed))
                call.push(kid.mean)
                call.push(kid.standardDeviation)
                return 2
            },
            LuaBinding("class_accuracy", "ap.metrics.class_accuracy{images=, classes=, features=, batch=250}: how often images generated for a class are classified as it by the feature network: images [N, 1, 28, 28] in [0, 1] with classes = their 1-based intended classes, or a dataset (its own labels); returns the overall fraction and a table class → fraction (absent for classes without images).") { call in
                let context = "ap.metrics.class_accuracy"
                let o = try LuaOptions(call, 1, valid: ["images", "classes", "features", "batch"], context: context)
                let (network, batch) = try LuaState.featureNetwork(o, context: context)
                guard o.has("images") else { throw LuaBindingError("\(context): images = a tensor [N, 1, 28, 28] or a dataset is required") }
                let accuracy: ClassConditionalAccuracy = try o.value("images") { _ in
                    if let dataset = LuaHost.object(call.L, -1, DatasetBox.self)?.dataset {
                        guard !o.has("classes") else {
                            throw LuaBindingError("\(context): classes are taken from the dataset's labels; give classes only with an images tensor")
                        }
                        return try classConditionalAccuracy(dataset: dataset, classifier: network, batchSize: batch)
                    }
                    guard let images = LuaHost.object(call.L, -1, TensorBox.self)?.tensor() else {
                        throw LuaBindingError("\(context): images must be a Tensor [N, 1, 28, 28] or a Dataset, got \(LuaCall.typeName(call.L, -1))")
                    }
                    guard let classes = try o.value("classes", { _ in try LuaState.intendedClasses(call, context: context) }) else {
                        throw LuaBindingError("\(context): classes = the 1-based class each image was generated for is required with an images tensor")
                    }
                    let count = network.configuration.classes
                    if let k = classes.firstIndex(where: { $0 < 1 || $0 > count }) {
                        throw LuaBindingError("\(context): classes[\(k + 1)] = \(classes[k]) is not a class in 1..\(count) (classes are 1-based)")
                    }
                    return try classConditionalAccuracy(images: images, labels: classes.map { $0 - 1 }, classifier: network,
                                                        batchSize: batch)
                }!
                call.push(accuracy.overall)
                lua_createtable(call.L, Int32(accuracy.perClass.count), 0)
                for (c, value) in accuracy.perClass.enumerated() {
                    guard let value else { continue }
                    call.push(value)
                    lua_rawseti(call.L, -2, lua_Integer(c + 1))
                }
                return 2
            },
            LuaBinding("feature_network", "ap.metrics.feature_network{channels=1, widths={16, 32, 64, 128, 128}, classes=10}: a new (untrained) feature network, the classifier whose penultimate features FID and KID compare; scripts/fid_features.lua trains it.") { call in
                let context = "ap.metrics.feature_network"
                let o = try LuaOptions(call, 1, valid: ["channels", "widths", "classes"], context: context)
                var c = FeatureNetwork.Configuration.fashionMNIST
                c.channels = try o.integer("channels") ?? c.channels
                c.classes = try o.integer("classes") ?? c.classes
                if let widths = try o.numbers("widths") {
                    guard widths.allSatisfy({ $0.rounded() == $0 && abs($0) < 1e9 }) else {
                        throw LuaBindingError("\(context): widths must be integers, got \(widths)")
                    }
                    c.widths = widths.map { Int($0) }
                }
                call.push(object: ModuleBox(try FeatureNetwork(c)))
                return 1
            },
            LuaBinding("load_feature_network", "ap.metrics.load_feature_network([path]): a trained feature network (strictly loaded; default models/fid-fashion-mnist-v1.safetensors) and its checkpoint metadata (test accuracy, recipe, date).") { call in
                let url = try call.isNoneOrNil(1) ? FeatureNetwork.locateDefaultCheckpoint() : URL(fileURLWithPath: try call.string(1))
                let network = try FeatureNetwork.load(url)
                call.push(object: ModuleBox(network))
                LuaState.pushStringTable(call, network.checkpointMetadata)
                return 2
            },
        ]
    }

    /// The `features` option as a network (loaded from its path, or the default
    /// checkpoint), and the `batch` option.
    private static func featureNetwork(_ o: LuaOptions, context: String) throws -> (FeatureNetwork, Int) {
        let batch = try o.integer("batch") ?? 250
        guard batch >= 1 else { throw LuaBindingError("\(context): batch must be ≥ 1, got \(batch)") }
        let given = try o.value("features") { type -> FeatureNetwork in
            if type == LUA_TSTRING { return try FeatureNetwork.load(URL(fileURLWithPath: String(cString: lua_tolstring(o.call.L, -1, nil)))) }
            guard let module = LuaHost.object(o.call.L, -1, ModuleBox.self)?.module else {
                throw LuaBindingError("\(context): features must be a checkpoint path or a feature network, got \(LuaCall.typeName(o.call.L, -1))")
            }
            guard let network = module as? FeatureNetwork else {
                throw LuaBindingError("\(context): features must be a feature network (ap.metrics.feature_network), got a \(module.typeName)")
            }
            return network
        }
        return (try given ?? FeatureNetwork.load(FeatureNetwork.locateDefaultCheckpoint()), batch)
    }

    /// Features of the image set under `key`: a tensor of images or a dataset.
    private static func imageFeatures(_ o: LuaOptions, _ key: String, network: FeatureNetwork, batch: Int,
                                      context: String) throws -> Tensor {
        guard o.has(key) else {
            throw LuaBindingError("\(context): \(key) = images (a tensor [N, \(network.configuration.channels), H, W] in [0, 1] or a dataset) is required")
        }
        return try o.value(key) { _ -> Tensor in
            let L = o.call.L
            if let dataset = LuaHost.object(L, -1, DatasetBox.self)?.dataset {
                return try network.extractFeatures(dataset, batchSize: batch)
            }
            guard let images = LuaHost.object(L, -1, TensorBox.self)?.tensor() else {
                throw LuaBindingError("\(context): \(key) must be a Tensor of images or a Dataset, got \(LuaCall.typeName(L, -1))")
            }
            do {
                return try network.extractFeatures(images, batchSize: batch)
            } catch let error as MetricsError {
                throw LuaBindingError("\(context): \(key): \(error.message)")
            }
        }!
    }

    /// The `classes` option (on top of the stack): a table of 1-based class labels.
    private static func intendedClasses(_ call: LuaCall, context: String) throws -> [Int] {
        guard lua_type(call.L, -1) == LUA_TTABLE else {
            throw LuaBindingError("\(context): classes must be a table of 1-based class labels, got \(LuaCall.typeName(call.L, -1))")
        }
        var out: [Int] = []
        try call.forEachElement(ofTable: -1) { k in
            var ok: Int32 = 0
            let v = lua_tointegerx(call.L, -1, &ok)
            guard lua_type(call.L, -1) == LUA_TNUMBER, ok != 0 else {
                throw LuaBindingError("\(context): classes[\(k + 1)] is not an integer class label")
            }
            out.append(Int(v))
        }
        return out
    }
}
