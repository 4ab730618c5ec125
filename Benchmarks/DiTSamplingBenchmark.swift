import AutoProg

/// DDIM sampling of 64 class-conditional images with classifier-free guidance (scale 4, so
/// each of the 50 steps runs the DiT on a batch of 128: the conditional and null halves),
/// 28×28×1, linear schedule respaced to "ddim50" — the workload of
/// Benchmarks/reference/dit_sampling.py, timed whole (one warm-up step first).
func benchmarkDiTSampling(only: Set<String>) throws {
    let images = 64
    for name in ["dit-s4", "dit-s2"] where only.isEmpty ? name == "dit-s4" : only.contains(name) {
        Random.manualSeed(0)
        let p = DiT.Configuration.presets[name]!
        let model = try DiT(.init(imageSize: 28, patchSize: p.patchSize, channels: 1, classes: 10,
                                  dimension: p.dimension, depth: p.depth, heads: p.heads))
        let diffusion = try GaussianDiffusion(.linear, steps: 1000)
        let labels = (0..<images).map { $0 % 10 }
        var options = SamplingOptions(sampler: .ddim(eta: 0), spacing: "1", guidanceScale: 4, seed: 0, batchSize: images)
        _ = try diffusion.sample(model: model, count: images, labels: labels, height: 28, width: 28, options: options)
        options.spacing = "ddim50"
        let start = now()
        let samples = try diffusion.sample(model: model, count: images, labels: labels, height: 28, width: 28, options: options)
        let seconds = now() - start
        precondition(samples.shape == [images, 1, 28, 28])
        printJSONLine([("name", name + "-ddim50-cfg"), ("images", images), ("steps", 50),
                       ("seconds", seconds), ("imgs_per_s", Double(images) / seconds),
                       ("threads", Parallel.threadCount), ("peak_rss_mib", peakResidentMiB())])
    }
}
