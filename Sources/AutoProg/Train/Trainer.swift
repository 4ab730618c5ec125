import Foundation
import OrderedCollections

/// The one training loop every recipe shares (`ap.train{...}`).
///
/// Per step: the controller may change the model; a batch comes from the loader; the
/// loss is computed (classification cross-entropy by default, or the recipe's loss),
/// checked for NaN/Inf, back-propagated (with gradient accumulation), clipped; the
/// optimizer steps at the schedule's learning rate and the EMA copies follow. Then the
/// step is logged, evaluation and checkpoints happen on their intervals, hooks run, and
/// `onStepBoundary` lets the runner pause into the REPL or serve an attached client.
/// Everything a resumed run needs is in each checkpoint, so a run stopped and resumed
/// logs the same losses as one that never stopped.
public final class Trainer {
    public struct Configuration {
        public var model: Module
        public var data: Dataset
        public var evalData: Dataset?
        public var batchSize: Int
        /// Training length: `steps` if given, else `epochs` × steps per epoch.
        public var epochs: Int?
        public var steps: Int?
        public var gradientAccumulation = 1
        public var clipGradientNorm: Float?
        public var emaDecays: [Float] = []
        /// Decay warm-up of the EMA copies (timm's `ModelEmaV3` warm-up), so short runs and
        /// short progressive stages get averages that track the weights (MoGrow grows from them).
        public var emaWarmup: EMA.Warmup?
        public var labelSmoothing: Float = 0
        public var evalEverySteps: Int?          // default: once per epoch
        public var evalBatchSize: Int?
        /// Generate samples (with `Trainer.sampler`) every this many steps; always at the end.
        public var sampleEverySteps: Int?
        public var evaluateWithEMA = false        // evaluate the first EMA copy instead of the raw weights
        /// Also evaluate right after each growth (before the new stage trains): how much of
        /// the function a growth operator preserves.
        public var evaluateAtStageStart = false
        public var checkpointEverySteps: Int?     // default: once per epoch (and at the end)
        public var keepLastCheckpoints = 3
        public var logEverySteps = 1
        public var shuffle = true
        /// Training-time augmentation (crop, flip, RandAugment, erasing, mixup/cutmix). Its
        /// randomness is keyed by (seed, epoch, batch), so a resumed run augments the same way.
        public var augmentation: (any BatchTransform)?

        public init(model: Module, data: Dataset, evalData: Dataset? = nil, batchSize: Int, epochs: Int? = nil,
                    steps: Int? = nil) {
            self.model = model
            self.data = data
            self.evalData = evalData
            self.batchSize = batchSize
            self.epochs = epochs
            self.steps = steps
        }
    }

    /// Decides, at a step boundary, whether training goes on.
    public enum BoundaryDecision { case proceed, stop }

    public let configuration: Configuration
    public var model: Module { configuration.model }
    public private(set) var optimizer: any Optimizer
    /// Builds an optimizer over the model's current parameters (again after growth).
    public let makeOptimizer: (Module) throws -> any Optimizer
    public var schedule: (any LearningRateSchedule)?
    public private(set) var ema: EMA?
    public var controller: ProgressiveController?
    /// The loss of one batch; default: cross-entropy of the model's logits.
    public var lossFunction: ((Module, Batch) throws -> Tensor)?
    public let loader: DataLoader
    /// The augmentation in force: the configuration's, until a controller changes its
    /// strength (adaptive regularisation).
    public var augmentation: (any BatchTransform)?
    public private(set) var state = TrainingState()
    public var interrupted = false
    /// Multiplies the schedule's rate. Setting the optimizer's rate by hand between steps
    /// (from the REPL: `opt.lr = 1e-4`) sets this scale, so the change sticks and the
    /// schedule's shape continues from the new level.
    public private(set) var learningRateScale: Float = 1
    private var lastAppliedLearningRate: Float?

    // Hooks (the Lua binding forwards them to recipe functions).
    public var onStep: ((TrainingState) throws -> Void)?
    public var onEpoch: ((TrainingState) throws -> Void)?
    public var onEval: ((TrainingState) throws -> Void)?
    public var onCheckpoint: ((TrainingState, URL) throws -> Void)?
    public var onStage: ((TrainingState) throws -> Void)?
    public var onStepBoundary: ((Trainer) throws -> BoundaryDecision)?
    /// Generates images [N, C, H, W] in [0, 1] from the model (a generative recipe's
    /// samples); called every `sampleEverySteps` in eval mode, without gradients, with the
    /// first EMA copy's weights when there is one (as DiT and diffusers sample).
    public var sampler: ((TrainingState) throws -> Tensor)?
    /// After a sample grid was written: its file and PNG bytes (the runner shows it in the
    /// notebook and TensorBoard).
    public var onSamples: ((TrainingState, URL, Data) throws -> Void)?

    // Outputs (all optional: a trainer without a run directory only trains).
    public let run: RunDirectory?
    private var metrics: MetricsLog?
    private var summary: SummaryCSV?
    /// The run's event file; give one to share it with other writers (saved images).
    public var tensorBoard: TensorBoardWriter?
    private var checkpoints: CheckpointManager?
    public var progress: ProgressBar?

    public init(_ configuration: Configuration, makeOptimizer: @escaping (Module) throws -> any Optimizer,
                schedule: (any LearningRateSchedule)? = nil, run: RunDirectory? = nil) throws {
        guard configuration.batchSize > 0 else { throw TrainingError("batch size must be positive, not \(configuration.batchSize)") }
        guard configuration.gradientAccumulation > 0 else { throw TrainingError("gradient accumulation must be ≥ 1") }
        self.configuration = configuration
        self.makeOptimizer = makeOptimizer
        self.schedule = schedule
        self.run = run
        optimizer = try makeOptimizer(configuration.model)
        augmentation = configuration.augmentation
        ema = try Trainer.makeEMA(configuration)
        loader = try DataLoader(dataset: configuration.data, batchSize: configuration.batchSize,
                                shuffle: configuration.shuffle, dropLast: true)
        let perEpoch = loader.batchesPerEpoch / configuration.gradientAccumulation
        guard perEpoch > 0 else {
            throw TrainingError("the dataset has \(configuration.data.count) examples: fewer than one step of \(configuration.batchSize * configuration.gradientAccumulation)")
        }
        state.stepsPerEpoch = perEpoch
        if let steps = configuration.steps {
            state.totalSteps = steps
        } else {
            state.totalSteps = (configuration.epochs ?? 1) * perEpoch
        }
        guard state.totalSteps > 0 else { throw TrainingError("nothing to train: 0 steps") }
    }

    // MARK: Resume

    /// Restores everything a checkpoint holds; the next `train()` continues from there.
    public func resume(from url: URL) throws {
        let (tensors, metadata) = try SafeTensors.read(url)
        let saved = SavedState(tensors: tensors, metadata: metadata)
        // Check the run's own metadata first: a weights-only file is named as such.
        var reader = MetadataReader(metadata)
        let step = reader.int("autoprog.step"), epoch = reader.int("autoprog.epoch")
        let dataEpoch = reader.int("autoprog.data_epoch"), dataBatch = reader.int("autoprog.data_batch")
        let random = reader.string("autoprog.random").flatMap(Trainer.parseRandomState)
        if reader.metadata["autoprog.random"] != nil && random == nil {
            reader.problems.append("metadata \"autoprog.random\" is malformed")
        }
        // The run's training and wall time so far, so a resumed run reports the whole run's
        // (older checkpoints lack them and count from 0).
        let trainingSeconds = reader.nonNegativeDouble(ifPresent: "autoprog.train_seconds") ?? 0
        let elapsedSeconds = reader.nonNegativeDouble(ifPresent: "autoprog.elapsed_seconds") ?? 0
        // A learning rate set by hand (REPL) as a multiple of the schedule's; absent: none was.
        let learningRateScale = reader.nonNegativeDouble(ifPresent: "autoprog.lr_scale") ?? 1
        guard reader.problems.isEmpty, let step, let epoch, let dataEpoch, let dataBatch, let random else {
            throw CheckpointError(path: url.path, "not an autoprog training checkpoint: "
                                  + reader.problems.joined(separator: "; "))
        }
        if let controller { try controller.load(saved.scoped("controller.")) }
        // The controller may have re-shaped the model: rebuild what depends on its parameters.
        var modelState = StateDict()
        for (k, v) in tensors where k.hasPrefix("model.") { modelState[String(k.dropFirst(6))] = v }
        try model.load(modelState)
        optimizer = try makeOptimizer(model)
        try optimizer.load(saved.scoped("optimizer."))
        ema = try Trainer.makeEMA(configuration)
        try ema?.load(saved.scoped("ema."))
        state.step = step
        state.epoch = epoch
        loader.position = DataLoader.Position(epoch: dataEpoch, batch: dataBatch)
        Random.restore(random)
        self.learningRateScale = Float(learningRateScale)
        state.trainingSeconds = trainingSeconds
        state.elapsedSeconds = elapsedSeconds
        lastAppliedLearningRate = nil
        if let run {
            metrics = try MetricsLog(url: run.metricsURL, truncatingAfterStep: state.step)
            summary = try SummaryCSV(url: run.summaryURL, truncatingAfterEpoch: state.epoch)
        }
    }

    // MARK: The loop

    /// Trains to the configured length (or until stopped) and returns the final state.
    @discardableResult
    public func train() throws -> TrainingState {
        try openOutputs()
        model.train()
        let start = Date(), elapsedBefore = state.elapsedSeconds
        var lastStageDescription = controller?.stageDescription
        var smoothedRate = 0.0
        while state.step < state.totalSteps {
            let iterationStart = Date()
            var evaluationSeconds = 0.0
            if let controller {
                let action = try controller.willStep(self)
                if action.contains(.parametersChanged) {
                    try rebuildOptimizer()
                } else if action.contains(.optimizerReset) {
                    try replaceOptimizer()
                }
                if action.contains(.stageStarted) || controller.stageDescription != lastStageDescription {
                    lastStageDescription = controller.stageDescription
                    state.stage = lastStageDescription
                    var record: OrderedDictionary<String, JSONValue> = ["event": .string("stage_start")]
                    record.merge(controller.stageRecord()) { a, _ in a }
                    try log(record)
                    try onStage?(state)
                    if configuration.evaluateAtStageStart, state.step > 0, configuration.evalData != nil {
                        let evaluationStart = Date()
                        try evaluateAndLog()
                        evaluationSeconds = Date().timeIntervalSince(evaluationStart)
                    }
                }
            }
            let stepStart = Date()
            if let applied = lastAppliedLearningRate, optimizer.learningRate != applied, let schedule, state.step > 0 {
                let scheduled = schedule.learningRate(at: state.step - 1)
                if scheduled > 0 { learningRateScale = optimizer.learningRate / scheduled }
            }
            let lr = schedule.map { $0.learningRate(at: state.step) * learningRateScale } ?? optimizer.learningRate
            optimizer.learningRate = lr
            lastAppliedLearningRate = lr
            optimizer.zeroGrad()
            var lossSum: Float = 0
            var images = 0
            for _ in 0..<configuration.gradientAccumulation {
                let position = loader.position
                var batch = try loader.next()
                var softTargets: Tensor?
                if let augmentation {
                    var random = RandomStream.augmentation(seed: Random.seed, at: position)
                    let augmented = try augmentation.apply(batch, random: &random)
                    batch = Batch(images: augmented.images, labels: augmented.labels, indices: batch.indices)
                    softTargets = augmented.targets
                }
                if let controller { batch = try controller.prepare(batch) }
                images += batch.labels.count
                let loss = try computeLoss(batch, softTargets: softTargets)
                let value = try loss.item()
                guard value.isFinite else { try stopOnNonFiniteLoss(value) }
                lossSum += value
                let scaled = configuration.gradientAccumulation == 1 ? loss : try loss / Float(configuration.gradientAccumulation)
                try scaled.backward()
            }
            if let maxNorm = configuration.clipGradientNorm {
                try clipGradientNorm(optimizer.parameters, maxNorm: maxNorm)
            }
            try optimizer.step()
            try ema?.update()
            try controller?.didStep(self)

            state.step += 1
            state.loss = lossSum / Float(configuration.gradientAccumulation)
            state.learningRate = lr
            let seconds = Date().timeIntervalSince(stepStart)
            state.stepSeconds = seconds
            let rate = Double(images) / max(seconds, 1e-9)
            smoothedRate = smoothedRate == 0 ? rate : 0.9 * smoothedRate + 0.1 * rate
            state.imagesPerSecond = smoothedRate
            state.elapsedSeconds = elapsedBefore + Date().timeIntervalSince(start)
            try logStep(imagesPerSecond: rate)
            state.trainingSeconds += Date().timeIntervalSince(iterationStart) - evaluationSeconds
            try onStep?(state)

            let epochEnded = state.step % state.stepsPerEpoch == 0
            if epochEnded { state.epoch += 1 }
            let evalDue = configuration.evalEverySteps.map { state.step % $0 == 0 } ?? epochEnded
            if evalDue || state.step == state.totalSteps, configuration.evalData != nil {
                try evaluateAndLog()
            }
            if sampler != nil, configuration.sampleEverySteps.map({ state.step % $0 == 0 }) ?? false || state.step == state.totalSteps {
                try writeSamples()
            }
            if epochEnded { try endEpoch() }
            let checkpointDue = configuration.checkpointEverySteps.map { state.step % $0 == 0 } ?? epochEnded
            if checkpointDue || state.step == state.totalSteps { try saveCheckpoint() }

            if let boundary = onStepBoundary, try boundary(self) == .stop {
                interrupted = true
                if !(checkpointDue || state.step == state.totalSteps) { try saveCheckpoint() }
                break
            }
        }
        // A run ending mid-epoch still gets its summary row (epoch as a fraction).
        if state.step % state.stepsPerEpoch != 0 { try endEpoch(partial: true) }
        progress?.finish()
        try tensorBoard?.flush()
        return state
    }

    /// The training loss on `batch` as a step computes it (the recipe's loss function, or
    /// cross-entropy with the run's label smoothing), recorded for backward; nothing else
    /// happens. For measuring candidates between steps (AutoProg-Zero's T and ZiCo).
    public func trainingLoss(on batch: Batch) throws -> Tensor {
        try computeLoss(batch, softTargets: nil)
    }

    /// Mixed (soft) targets from mixup/cutmix already carry their label smoothing.
    private func computeLoss(_ batch: Batch, softTargets: Tensor?) throws -> Tensor {
        if let lossFunction { return try lossFunction(model, batch) }
        if let softTargets { return try crossEntropy(model(batch.images), probabilities: softTargets) }
        return try crossEntropy(model(batch.images), targets: batch.labels, labelSmoothing: configuration.labelSmoothing)
    }

    /// A NaN/Inf loss stops the run: the weights are still those of the last good step,
    /// so they are checkpointed before the error names the step.
    private func stopOnNonFiniteLoss(_ value: Float) throws -> Never {
        var saved: URL?
        if checkpoints != nil { saved = try? saveCheckpoint() }
        let note = saved.map { "; the last good weights are in \($0.path)" } ?? ""
        throw TrainingError("loss is \(value) at step \(state.step + 1) (epoch \(state.epoch + 1))\(note)")
    }

    /// A fresh optimizer at the rate in force (so a rebuild is not mistaken for a hand-set rate).
    private func replaceOptimizer() throws {
        optimizer = try makeOptimizer(model)
        if let lastAppliedLearningRate { optimizer.learningRate = lastAppliedLearningRate }
    }

    private func rebuildOptimizer() throws {
        try replaceOptimizer()
        ema = try Trainer.makeEMA(configuration)
    }

    private static func makeEMA(_ c: Configuration) throws -> EMA? {
        c.emaDecays.isEmpty ? nil : try EMA(model: c.model, decays: c.emaDecays, warmup: c.emaWarmup)
    }

    // MARK: Evaluation

    /// Top-1 accuracy and mean loss of the classifier on `data` (eval mode, no gradients),
    /// at the data's full size, or with the images resized (bilinear) to `imageSize`, e.g.
    /// larger than trained — whatever resolution the current stage trains at.
    public func evaluate(_ data: Dataset? = nil, imageSize: Int? = nil) throws -> Evaluation {
        guard let data = data ?? configuration.evalData else { throw TrainingError("no evaluation data") }
        if let imageSize, imageSize <= 0 { throw TrainingError("evaluation image size must be positive, not \(imageSize)") }
        let measure = { () throws -> Evaluation in
            let wasTraining = self.model.isTraining
            self.model.eval()
            let elastic = self.model as? ElasticResolution
            let trainingSize = elastic?.activeImageSize
            elastic?.activeImageSize = nil
            defer {
                self.model.train(wasTraining)
                elastic?.activeImageSize = trainingSize
            }
            return try Autograd.withoutGradients {
                var correct = 0, total = 0
                var lossSum = 0.0
                let size = self.configuration.evalBatchSize ?? self.configuration.batchSize
                var start = 0
                while start < data.count {
                    let indices = Array(start..<min(start + size, data.count))
                    let batch = try data.batch(indices)
                    var images = batch.images
                    if let imageSize, images.shape[2] != imageSize || images.shape[3] != imageSize {
                        images = try resize(images, height: imageSize, width: imageSize, mode: .bilinear)
                    }
                    let logits = try self.model(images)
                    lossSum += Double(try crossEntropy(logits, targets: batch.labels).item()) * Double(indices.count)
                    let predicted = try logits.argmax(axis: -1)
                    correct += zip(predicted, batch.labels).filter { $0 == $1 }.count
                    total += indices.count
                    start += size
                }
                return Evaluation(loss: lossSum / Double(max(total, 1)), top1: 100 * Double(correct) / Double(max(total, 1)),
                                  count: total)
            }
        }
        if configuration.evaluateWithEMA, let ema { return try ema.swapped(decayIndex: 0, measure) }
        return try measure()
    }

    private func evaluateAndLog() throws {
        let e = try evaluate()
        state.eval = ["loss": e.loss, "top1": e.top1]
        try tensorBoard?.addScalar("eval/loss", Float(e.loss), step: state.step)
        try tensorBoard?.addScalar("eval/top1", Float(e.top1), step: state.step)
        try log(["eval_loss": .number(e.loss), "eval_top1": .number(e.top1)])
        progress?.message(String(format: "step %d: eval loss %.4f, top-1 %.2f%%", state.step, e.loss, e.top1))
        try onEval?(state)
    }

    /// Samples from the model and writes them as one grid, `samples/step-N.png`.
    @discardableResult
    public func writeSamples() throws -> Tensor? {
        guard let sampler else { return nil }
        let generate = { () throws -> Tensor in
            let wasTraining = self.model.isTraining
            self.model.eval()
            defer { self.model.train(wasTraining) }
            return try Autograd.withoutGradients { try sampler(self.state) }
        }
        let images = try ema.map { try $0.swapped(decayIndex: 0, generate) } ?? generate()
        guard images.rank == 4 else { throw TrainingError("the sampler returned a tensor of shape \(images.shape), not [N, C, H, W]") }
        if images.hasNonFinite { throw TrainingError("samples at step \(state.step) contain NaN or Inf") }
        guard let run else { return images }
        let columns = Int(Double(images.shape[0]).squareRoot().rounded(.up))
        let png = try PNG.encode(imageGrid(images, columns: max(columns, 1)))
        let url = run.samplesURL.appendingPathComponent(String(format: "step-%06d.png", state.step))
        try AtomicFile.write(png, to: url)
        try onSamples?(state, url, png)
        return images
    }

    private func endEpoch(partial: Bool = false) throws {
        let epoch: JSONValue = partial ? .number(Double(state.step) / Double(state.stepsPerEpoch)) : .integer(state.epoch)
        var row: OrderedDictionary<String, JSONValue> = ["epoch": epoch, "step": .integer(state.step),
                                                         "loss": .number(Double(state.loss)),
                                                         "lr": .number(Double(state.learningRate))]
        for (k, v) in state.eval { row["eval_" + k] = .number(v) }
        row["elapsed_s"] = .number(state.elapsedSeconds)
        row["train_s"] = .number(state.trainingSeconds)
        try summary?.append(row)
        if !partial { try onEpoch?(state) }
    }

    // MARK: Outputs

    private func openOutputs() throws {
        guard let run else { return }
        if metrics == nil { metrics = try MetricsLog(url: run.metricsURL) }
        if summary == nil { summary = try SummaryCSV(url: run.summaryURL) }
        if tensorBoard == nil { tensorBoard = try TensorBoardWriter(directory: run.url) }
        if checkpoints == nil { checkpoints = try CheckpointManager(directory: run.checkpointsURL, keepLast: configuration.keepLastCheckpoints) }
    }

    /// Appends a record to metrics.jsonl: `fields` after the step, epoch and stage (how
    /// controllers log stage events: a sub-network's FLOPs, its measured step time).
    public func log(_ fields: OrderedDictionary<String, JSONValue>) throws {
        var record: OrderedDictionary<String, JSONValue> = ["step": .integer(state.step), "epoch": .integer(state.epoch)]
        if let stage = state.stage { record["stage"] = .string(stage) }
        record.merge(fields) { _, new in new }
        try metrics?.append(.object(record))
    }

    private func logStep(imagesPerSecond: Double) throws {
        progress?.update(step: state.step, loss: state.loss, learningRate: state.learningRate,
                         imagesPerSecond: state.imagesPerSecond, stage: state.stage)
        guard state.step % configuration.logEverySteps == 0 || state.step == state.totalSteps else { return }
        var fields: OrderedDictionary<String, JSONValue> = ["loss": .number(Double(state.loss)), "lr": .number(Double(state.learningRate)),
                                                            "imgs_per_s": .number((imagesPerSecond * 10).rounded() / 10)]
        fields.merge(controller?.stepRecord() ?? [:]) { a, _ in a }
        try log(fields)
        try tensorBoard?.addScalar("train/loss", state.loss, step: state.step)
        try tensorBoard?.addScalar("train/lr", state.learningRate, step: state.step)
    }

    /// Everything needed to continue this run exactly, in one safetensors file.
    public func checkpointState() -> SavedState {
        var saved = SavedState()
        for (k, v) in model.stateDict() { saved.tensors["model." + k] = v }
        let parts = [optimizer.stateDict().prefixed("optimizer."), ema?.stateDict().prefixed("ema."),
                     controller?.stateDict().prefixed("controller.")].compactMap { $0 }
        for part in parts { saved.merge(part) }
        saved.metadata["autoprog.version"] = AutoProgInfo.version
        saved.metadata["autoprog.step"] = String(state.step)
        saved.metadata["autoprog.epoch"] = String(state.epoch)
        saved.metadata["autoprog.data_epoch"] = String(loader.position.epoch)
        saved.metadata["autoprog.data_batch"] = String(loader.position.batch)
        saved.metadata["autoprog.lr_scale"] = "\(learningRateScale)"
        saved.metadata["autoprog.train_seconds"] = "\(state.trainingSeconds)"
        saved.metadata["autoprog.elapsed_seconds"] = "\(state.elapsedSeconds)"
        saved.metadata["autoprog.random"] = Random.state.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
            .joined(separator: ",")
        return saved
    }

    /// `Random.state` as saved in `autoprog.random` ("key=value,..."), or nil if malformed.
    static func parseRandomState(_ text: String) -> [String: UInt64]? {
        var out: [String: UInt64] = [:]
        for part in text.split(separator: ",") {
            let kv = part.split(separator: "=")
            guard kv.count == 2, let v = UInt64(kv[1]) else { return nil }
            out[String(kv[0])] = v
        }
        return out
    }

    @discardableResult
    public func saveCheckpoint() throws -> URL? {
        guard let checkpoints else { return nil }
        let saved = checkpointState()
        let url = try checkpoints.save(saved.tensors, metadata: saved.metadata, step: state.step)
        try onCheckpoint?(state, url)
        return url
    }
}

/// A training run cannot go on; the message says why and where.
public struct TrainingError: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
