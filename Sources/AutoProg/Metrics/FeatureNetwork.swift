import Foundation

/// The feature network autoprog's FID, KID and class-conditional accuracy use in place of
/// Inception-v3 (whose weights cannot be downloaded here): a small CNN classifier trained
/// in-project on the evaluation domain, Fashion-MNIST, by `scripts/fid_features.lua`.
///
///     blocks.0  Conv2d(1 → 16, 3×3, stride 1)    GroupNorm(8)  SiLU    28×28
///     blocks.1  Conv2d(16 → 32, 3×3, stride 2)   GroupNorm(8)  SiLU    14×14
///     blocks.2  Conv2d(32 → 64, 3×3, stride 2)   GroupNorm(8)  SiLU     7×7
///     blocks.3  Conv2d(64 → 128, 3×3, stride 2)  GroupNorm(8)  SiLU     4×4
///     blocks.4  Conv2d(128 → 128, 3×3, stride 2) GroupNorm(8)  SiLU     2×2
///     global average pool → 128-d features (FID/KID)  →  head Linear(128 → 10) (logits)
///
/// The features play the part of Inception's pool3 activations: the penultimate layer of a
/// classifier of the domain, so distances between feature distributions track what tells
/// the classes apart. Depth matters more than width here: with global average pooling the
/// features only see as far as the last block's receptive field (33 pixels after five
/// blocks, 9 after three). Trained alike (1 epoch on 12,000 images), the wider 3-block
/// (32, 64, 128) reached 52% test accuracy, (32, 64, 128, 128) 70%, and this one 80%.
///
/// Images are [N, 1, 28, 28] in [0, 1], the range of `ap.data.fashion_mnist`
/// (torchvision's ToTensor); samples from a diffusion model live in [−1, 1] and must be
/// mapped with (x + 1) / 2 (clamped) first — `extractFeatures` rejects images outside
/// [0, 1] to catch exactly that mistake.
///
/// The architecture follows from the widths alone (first block stride 1, later blocks
/// stride 2, GroupNorm with 8 groups), so `load` reads it from a checkpoint's shapes.
public final class FeatureNetwork: Module {
    public struct Configuration: Equatable, Sendable {
        public var channels: Int
        public var widths: [Int]
        public var classes: Int

        /// The architecture of models/fid-fashion-mnist-v1.safetensors.
        public static let fashionMNIST = Configuration(channels: 1, widths: [16, 32, 64, 128, 128], classes: 10)

        public init(channels: Int, widths: [Int], classes: Int) {
            self.channels = channels
            self.widths = widths
            self.classes = classes
        }

        public static let groups = 8

        func validate() throws {
            guard channels >= 1, classes >= 2, !widths.isEmpty else {
                throw MetricsError("feature network", "need channels ≥ 1, classes ≥ 2 and at least one width (got channels \(channels), classes \(classes), widths \(widths))")
            }
            if let w = widths.first(where: { $0 < Configuration.groups || $0 % Configuration.groups != 0 }) {
                throw MetricsError("feature network", "width \(w) is not a positive multiple of \(Configuration.groups) (the GroupNorm groups)")
            }
        }
    }

    /// The versioned checkpoint `scripts/fid_features.lua` writes, relative to the repository.
    public static let defaultCheckpointPath = "models/fid-fashion-mnist-v1.safetensors"

    public let configuration: Configuration
    public let blocks: ModuleList<FeatureNetworkBlock>
    public let head: Linear
    /// The metadata of the checkpoint this network was loaded from (test accuracy, recipe, date).
    public private(set) var checkpointMetadata: [String: String] = [:]

    public init(_ configuration: Configuration = .fashionMNIST) throws {
        try configuration.validate()
        self.configuration = configuration
        let inputs = [configuration.channels] + configuration.widths.dropLast()
        blocks = ModuleList(zip(inputs, configuration.widths).enumerated().map { k, io in
            FeatureNetworkBlock(io.0, io.1, stride: k == 0 ? 1 : 2)
        })
        head = Linear(configuration.widths.last!, configuration.classes)
        super.init()
        register("blocks", blocks)
        register("head", head)
    }

    /// Dimension of the feature vectors.
    public var featureDimension: Int { configuration.widths.last! }

    /// The penultimate activations [N, featureDimension] of images [N, C, H, W].
    public func features(_ x: Tensor) throws -> Tensor {
        guard x.rank == 4, x.shape[1] == configuration.channels else {
            throw TensorError("FeatureNetwork", "images must be [N, \(configuration.channels), H, W], got shape \(x.shape)")
        }
        var h = x
        for block in blocks.items { h = try block(h) }
        return try h.mean(axes: [2, 3])
    }

    /// Class logits [N, classes]: what `ap.train` trains with cross-entropy.
    public override func forward(_ x: Tensor) throws -> Tensor { try head(features(x)) }

    public override var extraDescription: String {
        "channels=\(configuration.channels), widths=\(configuration.widths), classes=\(configuration.classes)"
    }

    // MARK: Checkpoints

    /// Loads a feature network checkpoint (safetensors written with `ap.save(path,
    /// m:state_dict(), metadata)`), strictly: the architecture is read from the tensor
    /// shapes, then every parameter must be present with its shape and nothing else may be.
    /// A missing file names the recipe that produces the default one; a corrupt file or a
    /// mismatched state dict is reported with the path.
    public static func load(_ url: URL) throws -> FeatureNetwork {
        let metric = "feature network"
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw MetricsError(metric, "checkpoint \(url.path) does not exist; `autoprog-run scripts/fid_features.lua` "
                + "trains the feature network and writes \(defaultCheckpointPath)")
        }
        let (tensors, metadata) = try SafeTensors.read(url)
        let configuration = try inferConfiguration(tensors, path: url.path)
        // Building the network draws initial weights that the checkpoint then replaces:
        // leave the engine's random streams as they were, so evaluating a metric in the
        // middle of a recipe does not change what the recipe draws next.
        let saved = Random.state
        defer { Random.restore(saved) }
        let network = try FeatureNetwork(configuration)
        do {
            try network.load(tensors, strict: true)
        } catch let error as StateDictError {
            throw MetricsError(metric, "checkpoint \(url.path) is not a feature network: \(error)")
        }
        network.eval()
        network.checkpointMetadata = metadata
        return network
    }

    /// The configuration whose parameters have the shapes in `tensors`.
    static func inferConfiguration(_ tensors: StateDict, path: String) throws -> Configuration {
        func fail(_ why: String) -> MetricsError {
            MetricsError("feature network", "checkpoint \(path) is not a feature network: \(why)")
        }
        var widths: [Int] = [], channels = 0
        while let w = tensors["blocks.\(widths.count).conv.weight"] {
            guard w.rank == 4 else { throw fail("blocks.\(widths.count).conv.weight has shape \(w.shape), expected [out, in, 3, 3]") }
            if widths.isEmpty { channels = w.shape[1] }
            widths.append(w.shape[0])
        }
        guard !widths.isEmpty else { throw fail("no blocks.0.conv.weight (keys: \(tensors.keys.prefix(6).joined(separator: ", "))...)") }
        guard let head = tensors["head.weight"], head.rank == 2 else { throw fail("no head.weight of shape [classes, \(widths.last!)]") }
        let configuration = Configuration(channels: channels, widths: widths, classes: head.shape[0])
        do { try configuration.validate() } catch { throw fail(String(describing: error)) }
        return configuration
    }

    /// Where the default checkpoint is: `$AUTOPROG_FID_FEATURES` if set, else
    /// `models/fid-fashion-mnist-v1.safetensors` under the working directory or under any
    /// directory above the running executable (the repository holding `.build/`).
    public static func locateDefaultCheckpoint() throws -> URL {
        var candidates: [URL] = []
        if let path = ProcessInfo.processInfo.environment["AUTOPROG_FID_FEATURES"], !path.isEmpty {
            candidates.append(URL(fileURLWithPath: path))
        } else {
            candidates.append(URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
                .appendingPathComponent(defaultCheckpointPath))
            var directory = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
            while directory.path != "/" {
                candidates.append(directory.appendingPathComponent(defaultCheckpointPath))
                directory = directory.deletingLastPathComponent()
            }
        }
        if let found = candidates.first(where: { FileManager.default.fileExists(atPath: $0.path) }) { return found }
        throw MetricsError("feature network", "no feature network checkpoint found (looked for "
            + candidates.prefix(3).map(\.path).joined(separator: ", ") + (candidates.count > 3 ? ", ..." : "")
            + "); `autoprog-run scripts/fid_features.lua` trains it and writes \(defaultCheckpointPath), "
            + "or pass the path of one (features = \"...\")")
    }
}

/// Conv2d(3×3, padding 1) → GroupNorm(8) → SiLU.
public final class FeatureNetworkBlock: Module {
    public let conv: Conv2d
    public let norm: GroupNorm

    public init(_ inChannels: Int, _ outChannels: Int, stride: Int) {
        conv = Conv2d(inChannels, outChannels, kernelSize: 3, stride: stride, padding: 1)
        norm = GroupNorm(groups: FeatureNetwork.Configuration.groups, channels: outChannels)
        super.init()
        register("conv", conv)
        register("norm", norm)
    }

    public override func forward(_ x: Tensor) throws -> Tensor { silu(try norm(conv(x))) }
}
