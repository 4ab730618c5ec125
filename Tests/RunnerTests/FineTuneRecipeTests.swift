import Foundation
import Testing
@testable import AutoProg

/// scripts/dit_finetune.lua end to end in a tiny configuration: a tiny base model from
/// scripts/dit_pretrain.lua, fine-tuned by AutoProg-Zero (voted stages in schedule.json,
/// FID points along the run, the final FID) and by a baseline (LoRA); and its bad input.
@Suite struct FineTuneRecipeTests {
    func makeBase(_ r: Runner) throws -> URL {
        let out = r.workDirectory.appendingPathComponent("base.safetensors")
        let result = try r.run([Runner.scripts.appendingPathComponent("dit_pretrain.lua").path, "--epochs=1", "--subset=64",
                                "--batch=16", "--samples_per_class=1", "--sample_steps=2", "--fid_per_class=2",
                                "--out=" + out.path])
        #expect(result.status == 0, "\(result.stderr)")
        return out
    }

    static let quick = ["--steps=12", "--batch=8", "--subset=64", "--fid_per_class=2", "--final_fid_per_class=2",
                        "--fid_steps=2", "--samples_per_class=1"]

    @Test(.enabled(if: Runner.haveFashionMNIST)) func autoProgZeroFineTunesTheBaseModel() throws {
        let r = try Runner()
        let base = try makeBase(r)
        let script = Runner.scripts.appendingPathComponent("dit_finetune.lua").path
        let result = try r.run([script, "--base=" + base.path, "--method=autoprog-zero"] + Self.quick)
        #expect(result.status == 0, "\(result.stderr)")
        let dir = try #require(result.runDirectory)
        let schedule = try JSONValue.parse(String(contentsOf: dir.appendingPathComponent("schedule.json"), encoding: .utf8))
        let record = try FineTuneRecord(json: schedule, source: "schedule.json")
        #expect(record.schedule == "autoprog-zero" && record.stages.count == 4 && record.resolutions == [16, 20, 24, 28])
        #expect(record.stages[0].candidates.count == 4 && record.stages[0].candidates.allSatisfy { $0.ranks != nil })
        #expect(record.stages.last?.resolution == 28)
        let lines = try String(contentsOf: dir.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
            .split(separator: "\n").map { try JSONValue.parse(String($0)) }
        #expect(lines.filter { $0["event"]?.stringValue == "fid_eval" }.count == 4)   // steps 3, 6, 9, 12
        let final = try #require(lines.last { $0["event"]?.stringValue == "final" })
        #expect((final["fid"]?.doubleValue ?? -1) > 0 && final["sid"]?.boolValue == true)
        let samples = try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("samples").path)
        #expect(samples.count == 4)

        let lora = try r.run([script, "--base=" + base.path, "--method=lora", "--lora_rank=2"] + Self.quick)
        #expect(lora.status == 0, "\(lora.stderr)")
        #expect(lora.stdout.contains("lora: FID"))
    }

    /// The emoji path of all three recipes: a feature network and a base model on the
    /// source categories at 16 px, fine-tuned by Prog on the target categories.
    @Test func emojiBaseFineTunesOnTheTargetCategories() throws {
        let r = try Runner()
        let script = { (name: String) in Runner.scripts.appendingPathComponent(name).path }
        let features = r.workDirectory.appendingPathComponent("features.safetensors")
        let trained = try r.run([script("fid_features.lua"), "--data=emoji", "--image=16", "--epochs=1",
                                 "--train_subset=64", "--eval_subset=16", "--batch=32", "--out=" + features.path])
        #expect(trained.status == 0, "\(trained.stderr)")
        let base = r.workDirectory.appendingPathComponent("emoji-base.safetensors")
        let pretrained = try r.run([script("dit_pretrain.lua"), "--data=emoji", "--image=16", "--epochs=1", "--subset=32",
                                    "--batch=16", "--samples_per_class=1", "--sample_steps=2", "--fid_per_class=2",
                                    "--features=" + features.path, "--out=" + base.path])
        #expect(pretrained.status == 0, "\(pretrained.stderr)")
        let (tensors, metadata) = try SafeTensors.read(base)
        #expect(metadata["data"] == "emoji" && metadata["classes"] == "people,symbols,flags,objects")
        #expect(metadata["image"] == "16" && metadata["channels"] == "3")
        #expect(tensors["x_embedder.proj.weight"]?.shape == [192, 3, 4, 4])

        let result = try r.run([script("dit_finetune.lua"), "--data=emoji", "--base=" + base.path, "--features=" + features.path,
                                "--method=prog"] + Self.quick)
        #expect(result.status == 0, "\(result.stderr)")
        let dir = try #require(result.runDirectory)
        let lines = try String(contentsOf: dir.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
            .split(separator: "\n").map { try JSONValue.parse(String($0)) }
        let final = try #require(lines.last { $0["event"]?.stringValue == "final" })
        #expect(final["data"]?.stringValue == "emoji" && final["classes"]?.stringValue == "nature,food,activity,travel")
        #expect((final["fid"]?.doubleValue ?? -1) > 0)
        let record = try FineTuneRecord(json: try JSONValue.parse(String(contentsOf: dir.appendingPathComponent("schedule.json"),
                                                                          encoding: .utf8)), source: "schedule.json")
        #expect(record.resolutions.last == 16 && record.resolutions.first == 8)

        // A base made on other data is named, not fine-tuned.
        let mismatch = try r.run([script("dit_finetune.lua"), "--data=fashion-mnist", "--base=" + base.path, "--steps=2"])
        #expect(mismatch.status != 0 && mismatch.stderr.contains("was trained on emoji, not --data=fashion-mnist"))
        let count = try r.run([script("dit_finetune.lua"), "--data=emoji", "--base=" + base.path, "--classes=food,travel"])
        #expect(count.status != 0 && count.stderr.contains("has 4 classes and --classes=food,travel names 2"))
        let unknown = try r.run([script("dit_finetune.lua"), "--data=cifar", "--steps=2"])
        #expect(unknown.status != 0 && unknown.stderr.contains("unknown --data=cifar"))
    }

    @Test(.enabled(if: Runner.haveFashionMNIST)) func badInputIsAClearError() throws {
        let r = try Runner()
        let script = Runner.scripts.appendingPathComponent("dit_finetune.lua").path
        let missing = try r.run([script, "--base=/nonexistent/base.safetensors", "--steps=2"])
        #expect(missing.status != 0 && missing.stderr.contains("no base model at /nonexistent/base.safetensors")
                && missing.stderr.contains("dit_pretrain.lua"))
        let unknown = try r.run([script, "--method=adapter", "--steps=2"])
        #expect(unknown.status != 0 && unknown.stderr.contains("unknown --method=adapter"))
    }
}

/// The REPL's `controller` during progressive fine-tuning (steered from the recipe's
/// on_step, the same Lua state): the voted candidates, a new measurement, a forced choice
/// that schedule.json records.
@Suite struct FineTuneControllerREPLTests {
    @Test(.enabled(if: Runner.haveFashionMNIST)) func theControllerGlobalSteersTheRun() throws {
        let r = try Runner()
        let result = try r.run([r.recipe("tiny_finetune.lua")])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("FineTuneController autoprog-zero, order interleaved, stage 1/4"), "\(result.stdout)")
        #expect(result.stdout.contains("controller: stage 1, 4 candidates"), "\(result.stdout)")
        #expect(result.stdout.contains("measured 4 candidates, winner"), "\(result.stdout)")
        #expect(result.stdout.contains("forced: 28px, fraction 1"), "\(result.stdout)")
        let dir = try #require(result.runDirectory)
        let record = try FineTuneRecord(json: try JSONValue.parse(String(contentsOf: dir.appendingPathComponent("schedule.json"),
                                                                         encoding: .utf8)), source: "schedule.json")
        #expect(record.stages[0].forced && record.stages[0].resolution == 28 && record.stages[0].fraction == 1)
    }
}
