import Foundation
import Testing
@testable import AutoProg

/// scripts/dit_pretrain.lua end to end in a tiny configuration: diffusion training of a
/// DiT, periodic sample grids (PNG, notebook, TensorBoard), the EMA base model saved and
/// loadable, FID and class accuracy of its samples logged.
@Suite struct DiffusionRecipeTests {
    @Test(.enabled(if: Runner.haveFashionMNIST)) func ditPretrainTrainsSamplesAndSavesTheBaseModel() throws {
        let r = try Runner()
        let out = r.workDirectory.appendingPathComponent("base.safetensors")
        let result = try r.run([Runner.scripts.appendingPathComponent("dit_pretrain.lua").path, "--epochs=2", "--subset=128",
                                "--batch=16", "--samples_per_class=1", "--sample_steps=5", "--fid_per_class=4",
                                "--out=" + out.path])
        #expect(result.status == 0, "\(result.stderr)")
        let dir = try #require(result.runDirectory)
        // 2 epochs of 8 steps: samples at the end of each (sample_every = one epoch here).
        let samples = try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("samples").path).sorted()
        #expect(samples == ["step-000008.png", "step-000016.png"])
        let grid = try PNG.read(dir.appendingPathComponent("samples/step-000016.png"))
        #expect(grid.shape[0] == 1 && grid.shape[1] > 28)
        let notebook = try String(contentsOf: dir.appendingPathComponent("notebook.ipynb"), encoding: .utf8)
        #expect(notebook.contains("step-000016.png") && notebook.contains("image/png"))

        // The base model: EMA weights in DiT's layout with its configuration in the metadata.
        let (tensors, metadata) = try SafeTensors.read(out)
        #expect(metadata["model"] == "dit-s4" && metadata["classes"] == "1,2,3,4,5")
        let model = try DiT(.init(imageSize: 28, patchSize: 4, channels: 1, classes: 5, dimension: 192, depth: 6, heads: 3,
                                  learnSigma: true))
        try model.load(tensors, strict: true)
        #expect(tensors["y_embedder.embedding_table.weight"]?.shape == [6, 192])

        let metrics = try String(contentsOf: dir.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
        let final = try #require(metrics.split(separator: "\n").map { try JSONValue.parse(String($0)) }.last)
        #expect((final["fid"]?.doubleValue ?? -1) > 0 && (final["fid_floor"]?.doubleValue ?? -1) >= 0)
        #expect(final["class_accuracy"]?.doubleValue.map { (0...1).contains($0) } == true)
        #expect(result.stdout.contains("FID"))
    }
}
