import AutoProg

/// One AdamW training step of a pre-norm ViT (timm layout) on 28×28×1 images, patch 4,
/// batch 128 — the models of ../shared/anchors/torch_reference_bench.py, timed the same
/// way (2 warm-up steps, then the mean of `steps`).
func benchmarkViT(only: Set<String>, steps: Int) throws {
    let batch = 128
    for name in ["vit-nano", "vit-micro", "vit-tiny"] where only.isEmpty || only.contains(name) {
        Random.manualSeed(0)
        let p = VisionTransformer.Configuration.presets[name]!
        let model = try VisionTransformer(.init(imageSize: 28, patchSize: 4, channels: 1, classes: 10,
                                                 dimension: p.dimension, depth: p.depth, heads: p.heads))
        let optimizer = try AdamW(parameters: model.parameters, learningRate: 1e-3)
        let images = Tensor.randn([batch, 1, 28, 28])
        let labels = (0..<batch).map { _ in Random.with(.dataOrder) { $0.nextInt(below: 10) } }
        func step() throws {
            let loss = try crossEntropy(model(images), targets: labels)
            optimizer.zeroGrad()
            try loss.backward()
            try optimizer.step()
        }
        for _ in 0..<2 { try step() }
        let start = now()
        for _ in 0..<steps { try step() }
        let seconds = (now() - start) / Double(steps)
        printJSONLine([("name", name), ("params", model.parameterCount), ("batch", batch),
                       ("step_ms", seconds * 1000), ("imgs_per_s", Double(batch) / seconds),
                       ("threads", Parallel.threadCount), ("peak_rss_mib", peakResidentMiB())])
    }
}
