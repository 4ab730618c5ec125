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
