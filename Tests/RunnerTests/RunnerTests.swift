import Foundation
import Testing
@testable import AutoProg

@Suite(.serialized) struct RunnerTests {
    @Test func versionAndRecipeHelp() throws {
        let r = try Runner()
        let version = try r.run(["--version"])
        #expect(version.status == 0 && version.stdout.contains("autoprog \(AutoProgInfo.version)"))
        let help = try r.run([r.recipe("tiny.lua"), "--help"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("--steps") && help.stdout.contains("--crash_at"), "\(help.stdout)")
    }

    @Test func badOptionsListTheValidOnes() throws {
        let r = try Runner()
        let unknown = try r.run([r.recipe("tiny.lua"), "--stepz=3"])
        #expect(unknown.status != 0)
        #expect(unknown.stderr.contains("stepz") && unknown.stderr.contains("steps"), "\(unknown.stderr)")
        let badType = try r.run([r.recipe("tiny.lua"), "--steps=many"])
        #expect(badType.status != 0 && badType.stderr.contains("steps"))
    }

    @Test func recipeErrorsNameFileAndLine() throws {
        let r = try Runner()
        let broken = r.workDirectory.appendingPathComponent("broken.lua")
        try "local ap = require 'autoprog'\nlocal x = ap.zeros(2, 3)\nlocal y = x:matmul(ap.zeros(4, 5))\n".write(to: broken, atomically: true, encoding: .utf8)
        let result = try r.run([broken.path])
        #expect(result.status != 0)
        #expect(result.stderr.contains("broken.lua:3:") && result.stderr.contains("[2, 3]"), "\(result.stderr)")
        let syntax = r.workDirectory.appendingPathComponent("syntax.lua")
        try "local x = = 1\n".write(to: syntax, atomically: true, encoding: .utf8)
        let s = try r.run([syntax.path])
        #expect(s.status != 0 && s.stderr.contains("syntax.lua:1:"), "\(s.stderr)")
    }

    @Test(.enabled(if: Runner.haveFashionMNIST)) func runWritesTheRunDirectory() throws {
        let r = try Runner()
        let result = try r.run([r.recipe("tiny.lua")])
        #expect(result.status == 0, "\(result.stderr)")
        let dir = try #require(result.runDirectory)
        for file in ["config.json", "metrics.jsonl", "summary.csv", "notebook.ipynb", "checkpoints/latest", "samples/grid.png"] {
            #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent(file).path), "missing \(file)")
        }
        // One TensorBoard event file, read back through its record format (lengths, CRCs).
        let events = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix("events.out.tfevents.") }
        #expect(events.count == 1)
        let eventFile = dir.appendingPathComponent(try #require(events.first))
        #expect(try TensorBoardReader.scalars(eventFile).filter { $0.tag == "train/loss" }.count == 8)
        let images = try TensorBoardReader.events(eventFile).flatMap(\.values).filter { $0.image != nil }
        #expect(images.map(\.tag) == ["samples/grid.png"])
        #expect(try Runner.losses(dir).count == 8)
        let config = try JSONValue.parse(String(contentsOf: dir.appendingPathComponent("config.json"), encoding: .utf8))
        #expect(config["options"]?["steps"] == .integer(8))
        #expect(config["recipe_sha256"]?.stringValue?.count == 64)
        // The notebook: one cell per `-- %%`, with the prints in the cells that made them.
        let notebook = try JSONValue.parse(String(contentsOf: dir.appendingPathComponent("notebook.ipynb"), encoding: .utf8))
        let cells = try #require(notebook["cells"]?.arrayValue)
        // The header comment, then the recipe's three `-- %%` cells.
        #expect(cells.count == 4)
        #expect(cells[1].serialized.contains("model parameters"))
        #expect(cells[2].serialized.contains("eval at step 4"))
        #expect(cells[3].serialized.contains("image/png") && cells[3].serialized.contains("done: step 8"))
        #expect(result.stdout.contains("done: step 8"))
    }

    /// A run that crashes after its step-4 checkpoint, resumed with --resume latest, logs
    /// exactly the losses of a run that never stopped.
    /// With progressive growth (MoGrow at step 4 from the EMA, and a plain operator) the
    /// resumed run must also restore the stage and the grown model.
    @Test(.enabled(if: Runner.haveFashionMNIST), arguments: ["", "mogrow", "interpolation"])
    func resumeIsBitIdentical(prog: String) throws {
        let r = try Runner()
        let extra = prog.isEmpty ? [] : ["--prog=" + prog]
        let whole = try r.run([r.recipe("tiny.lua")] + extra)
        #expect(whole.status == 0, "\(whole.stderr)")
        let crashed = try r.run([r.recipe("tiny.lua"), "--crash_at=6"] + extra)
        #expect(crashed.status != 0 && crashed.stderr.contains("crash requested at step 6"))
        let resumed = try r.run([r.recipe("tiny.lua"), "--resume=latest"] + extra)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stderr.contains("resumed from") && resumed.stderr.contains("at step 4"), "\(resumed.stderr)")
        #expect(resumed.runDirectory == crashed.runDirectory)
        let expected = try Runner.losses(try #require(whole.runDirectory))
        let got = try Runner.losses(try #require(resumed.runDirectory))
        #expect(got == expected)
        if !prog.isEmpty {
            // Stages are logged on every metrics line: grid 2 depth 1 first, then the full model.
            let text = try String(contentsOf: try #require(whole.runDirectory).appendingPathComponent("metrics.jsonl"), encoding: .utf8)
            #expect(text.contains("\"stage\":\"1/2 grid 2 depth 1\"") && text.contains("\"stage\":\"2/2 grid 4 depth 2\""))
        }
    }

    static let autoprog = ["--prog=mogrow", "--schedule=autoprog"]

    /// The schedule.json of a run directory.
    static func schedule(_ run: URL?) throws -> ScheduleRecord {
        try ScheduleRecord.read(try #require(run).appendingPathComponent("schedule.json"))
    }

    /// AutoProg-One end to end through autoprog-run: the search of stage 1 (Λ₁ = {2, 4} ×
    /// {1, 2} for grid 4 depth 2), its record, and the replay of that record (twice: the
    /// same losses), whose stages are the recorded choices.
    @Test(.enabled(if: Runner.haveFashionMNIST)) func autoprogSearchesRecordsAndReplays() throws {
        let r = try Runner()
        let searched = try r.run([r.recipe("tiny.lua")] + Self.autoprog)
        #expect(searched.status == 0, "\(searched.stderr)")
        #expect(searched.stdout.contains("done: step 8"))
        let record = try Self.schedule(searched.runDirectory)
        #expect(record.stages.map(\.steps) == [0..<4, 4..<8] && record.stages[0].searchSteps == 0..<2)
        #expect(record.stages[0].candidates.map(\.subNetwork.code) == ["2x1", "2x2", "4x1", "4x2"])
        let chosen = try #require(record.stages[0].chosen)
        let text = try String(contentsOf: try #require(searched.runDirectory).appendingPathComponent("metrics.jsonl"), encoding: .utf8)
        #expect(text.contains("\"event\":\"search_result\"") && text.contains("\"sub_network\":"))

        let path = try #require(searched.runDirectory).appendingPathComponent("schedule.json").path
        let first = try r.run([r.recipe("tiny.lua"), "--replay=\(path)"])
        let second = try r.run([r.recipe("tiny.lua"), "--replay=\(path)"])
        #expect(first.status == 0 && second.status == 0, "\(first.stderr)")
        let replayed = try Runner.losses(try #require(first.runDirectory))
        let again = try Runner.losses(try #require(second.runDirectory))
        #expect(replayed.count == 8 && replayed == again)
        let stages = try String(contentsOf: try #require(first.runDirectory).appendingPathComponent("metrics.jsonl"), encoding: .utf8)
        #expect(stages.contains("\"stage\":\"1/2 grid \(chosen.grid) depth \(chosen.depth)\"") && stages.contains("\"stage\":\"2/2 grid 4 depth 2\""))
        #expect(!stages.contains("sub_network"))
    }

    /// Bad input: a corrupt or unfitting schedule to replay names its file.
    @Test(.enabled(if: Runner.haveFashionMNIST)) func badReplaysAreNamed() throws {
        let r = try Runner()
        let corrupt = r.workDirectory.appendingPathComponent("corrupt.json")
        try "{\"schedule\": \"autoprog\", \"stages\": ".write(to: corrupt, atomically: true, encoding: .utf8)
        let bad = try r.run([r.recipe("tiny.lua"), "--replay=\(corrupt.path)"])
        #expect(bad.status != 0 && bad.stderr.contains(corrupt.path) && bad.stderr.contains("invalid JSON"), "\(bad.stderr)")
        let deep = r.workDirectory.appendingPathComponent("deep.json")
        var record = ScheduleRecord(schedule: "autoprog", space: 0.5, stageCount: 2, growthOperator: "mogrow", recycle: true,
                                    fixedAlpha: nil, model: SubNetwork(grid: 7, depth: 8), totalSteps: 8)
        for k in 0..<2 {
            var s = ScheduleRecord.Stage(index: k, steps: (4 * k)..<(4 * k + 4))
            s.chosen = SubNetwork(grid: 4, depth: 8)
            record.stages.append(s)
        }
        try record.write(to: deep)
        let misfit = try r.run([r.recipe("tiny.lua"), "--replay=\(deep.path)"])
        #expect(misfit.status != 0 && misfit.stderr.contains(deep.path) && misfit.stderr.contains("does not fit"), "\(misfit.stderr)")
    }

    /// What the REPL does during a search, through the global `supernet` (here from the
    /// recipe's on_step, which runs in the same Lua state): list the candidates, evaluate
    /// one, force it, change α. The forced choice and α are what schedule.json records.
    @Test(.enabled(if: Runner.haveFashionMNIST)) func theSupernetGlobalSteersTheSearch() throws {
        let r = try Runner()
        let result = try r.run([r.recipe("tiny.lua"), "--steer"] + Self.autoprog)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("supernet: 4 candidates, alpha fit, until step 2"), "\(result.stdout)")
        #expect(result.stdout.contains("candidate 3 (4x1): eval loss"), "\(result.stdout)")
        #expect(result.stdout.contains("measured: candidate 1 L 2."), "\(result.stdout)")
        let first = try Self.schedule(result.runDirectory).stages[0]
        #expect(first.chosen == SubNetwork(grid: 4, depth: 1) && first.forced && first.alpha == 0.5)
    }

    /// --resume continues an AutoProg-One run exactly, from a checkpoint after the search
    /// (its results restored) or in the middle of it (supernet, sampling stream restored).
    /// α is fixed so the choice does not depend on measured step times.
    @Test(.enabled(if: Runner.haveFashionMNIST), arguments: [false, true])
    func autoprogResumeIsBitIdentical(midSearch: Bool) throws {
        let r = try Runner()
        let extra = Self.autoprog + ["--alpha=0"] + (midSearch ? ["--checkpoint_every=1"] : [])
        let whole = try r.run([r.recipe("tiny.lua")] + extra)
        #expect(whole.status == 0, "\(whole.stderr)")
        let crashAt = midSearch ? 2 : 6
        let crashed = try r.run([r.recipe("tiny.lua"), "--crash_at=\(crashAt)"] + extra)
        #expect(crashed.status != 0 && crashed.stderr.contains("crash requested at step \(crashAt)"))
        let resumed = try r.run([r.recipe("tiny.lua"), "--resume=latest"] + extra)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stderr.contains("at step \(midSearch ? 1 : 4)"), "\(resumed.stderr)")
        let expected = try Runner.losses(try #require(whole.runDirectory))
        #expect(try Runner.losses(try #require(resumed.runDirectory)) == expected)
        let a = try Self.schedule(whole.runDirectory), b = try Self.schedule(resumed.runDirectory)
        #expect(a.stages.map(\.chosen) == b.stages.map(\.chosen) && a.stages.map(\.steps) == b.stages.map(\.steps))
        #expect(a.stages[0].candidates.map(\.loss) == b.stages[0].candidates.map(\.loss))
    }

    /// Ctrl-C pauses at a step boundary into the REPL (stdin here is a pipe): inspect,
    /// change the learning rate; a second Ctrl-C at the prompt does not kill the run;
    /// continue() trains to the end at the new rate.
    @Test(.enabled(if: Runner.haveFashionMNIST)) func ctrlCPausesIntoTheREPL() throws {
        let r = try Runner()
        let (p, out, err, inp) = try r.start([r.recipe("tiny.lua"), "--steps=300", "--subset=512", "--checkpoint_every=1000"])
        // Wait until training runs (the first metrics line), then interrupt.
        var waited = 0
        while waited < 600, !(FileManager.default.enumerator(atPath: r.workDirectory.path)?.contains { ($0 as? String)?.hasSuffix("metrics.jsonl") == true } ?? false) {
            usleep(50_000); waited += 1
        }
        usleep(200_000)
        kill(p.processIdentifier, SIGINT)
        usleep(500_000)
        kill(p.processIdentifier, SIGINT)   // at the prompt: cancels the line, the run lives
        usleep(200_000)
        inp.fileHandleForWriting.write(Data("print('paused at', run.step)\nopt.lr = 1e-5\nprint('lr now', opt.lr)\ncontinue()\n".utf8))
        try inp.fileHandleForWriting.close()
        let output = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let errors = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "\(errors)")
        #expect(output.contains("paused at"), "\(output)")
        #expect(output.contains("lr now\t1e-05") || output.contains("lr now\t9.99"), "\(output)")
        #expect(output.contains("done: step 300"), "\(output)")
        // After the pause every logged rate is the schedule scaled down to the new level.
        let dir = try #require(Runner.Result(status: 0, stdout: "", stderr: errors).runDirectory)
        let rates = try String(contentsOf: dir.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
            .split(separator: "\n").compactMap { try JSONValue.parse(String($0))["lr"]?.doubleValue }
        #expect(rates.last! < 1e-5 && rates.first! == 0)
    }

    /// `autoprog-run attach RUN_DIR` reaches a running job: its commands run at step
    /// boundaries with the live objects, and its stop() ends the run with a checkpoint.
    @Test(.enabled(if: Runner.haveFashionMNIST)) func attachFromAnotherProcess() throws {
        let r = try Runner()
        let (p, out, err, inp) = try r.start([r.recipe("tiny.lua"), "--steps=2000", "--subset=512", "--checkpoint_every=100000"])
        var socket: String?
        for _ in 0..<600 where socket == nil {
            usleep(50_000)
            socket = FileManager.default.enumerator(atPath: r.workDirectory.path)?
                .compactMap { $0 as? String }.first { $0.hasSuffix("repl.sock") }
        }
        let runDirectory = r.workDirectory.appendingPathComponent(try #require(socket)).deletingLastPathComponent()
        let client = try r.run(["attach", runDirectory.path], input: "print('attached at', run.step > 0)\nstop()\n")
        #expect(client.status == 0, "\(client.stderr)")
        #expect(client.stdout.contains("attached at\ttrue"), "\(client.stdout)")
        try inp.fileHandleForWriting.close()
        let output = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        _ = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        #expect(output.contains("done: step") && !output.contains("done: step 2000"), "\(output)")
        #expect(FileManager.default.fileExists(atPath: runDirectory.appendingPathComponent("checkpoints/latest").path))
        #expect(!FileManager.default.fileExists(atPath: runDirectory.appendingPathComponent("repl.sock").path))
        // With the job gone, attach says so.
        let late = try r.run(["attach", runDirectory.path])
        #expect(late.status != 0 && late.stderr.contains("no running job"), "\(late.stderr)")
    }

    /// The API demonstrations in scripts/examples run cleanly (they assert their results).
    @Test(.enabled(if: Runner.haveFashionMNIST), arguments: ["autograd.lua", "manual_loop.lua", "mixup.lua"])
    func examplesRun(name: String) throws {
        let r = try Runner()
        let examples = Runner.scripts.appendingPathComponent("examples")
        let result = try r.run([examples.appendingPathComponent(name).path])
        #expect(result.status == 0, "\(result.stderr)")
    }

    /// Killing a run (SIGKILL) at arbitrary moments while it checkpoints every step never
    /// leaves `latest` naming a missing or incomplete file, and the run resumes from it.
    @Test(.enabled(if: Runner.haveFashionMNIST)) func killDuringCheckpointingNeverCorruptsLatest() throws {
        let r = try Runner()
        var runDirectory: URL?
        for delay in [150_000, 400_000, 700_000] as [useconds_t] {
            let (p, out, err, inp) = try r.start([r.recipe("tiny.lua"), "--steps=100000", "--checkpoint_every=1", "--dim=64"]
                                                 + (runDirectory == nil ? [] : ["--resume=latest"]))
            // Let it write a few checkpoints, then kill it mid-stream.
            for _ in 0..<400 {
                if let d = runDirectory ?? (FileManager.default.enumerator(atPath: r.workDirectory.path)?
                    .compactMap { $0 as? String }.first { $0.hasSuffix("checkpoints/latest") })
                    .map({ r.workDirectory.appendingPathComponent($0).deletingLastPathComponent().deletingLastPathComponent() }) {
                    runDirectory = d
                    break
                }
                usleep(25_000)
            }
            usleep(delay)
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            try? inp.fileHandleForWriting.close()
            _ = out.fileHandleForReading.readDataToEndOfFile()
            _ = err.fileHandleForReading.readDataToEndOfFile()
            let manager = try CheckpointManager(directory: try #require(runDirectory).appendingPathComponent("checkpoints"), keepLast: 3)
            let latest = try #require(try manager.latest())
            let (tensors, metadata) = try SafeTensors.read(latest)
            #expect(tensors.keys.contains { $0.hasPrefix("model.") } && metadata["autoprog.step"] != nil)
        }
    }

    /// scripts/vit_pretrain.lua end to end, a few steps per stage, for every schedule.
    @Test(.enabled(if: Runner.haveFashionMNIST),
          arguments: [["--schedule=original"], ["--schedule=prog", "--operator=mogrow"], ["--schedule=progstack", "--operator=stacking"],
                      ["--schedule=manual", "--manual=4x3,7x6:2", "--operator=identity"],
                      ["--schedule=autoprog", "--search_steps=1", "--search_images=64", "--no-recycle"],
                      ["--schedule=supernet"]])
    func vitPretrainSchedules(arguments: [String]) throws {
        let r = try Runner()
        let recipe = Runner.scripts.appendingPathComponent("vit_pretrain.lua")
        let result = try r.run([recipe.path, "--model=vit-nano", "--epochs=1", "--train_subset=512", "--eval_subset=128",
                                "--batch=32"] + arguments)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("top-1"), "\(result.stdout)")
        if arguments[0] == "--schedule=supernet" {
            #expect(result.stdout.contains("stage supernet grid 4-7 depth 3-6"), "\(result.stdout)")
        } else if arguments.contains("--manual=4x3,7x6:2") {
            // 16 steps shared 1:2: the second stage starts at step round(16/3) = 5.
            #expect(result.stdout.contains("step 5: stage 2/2 grid 7 depth 6"), "\(result.stdout)")
        } else if arguments[0] != "--schedule=original" {
            #expect(result.stdout.contains("stage 2/"), "\(result.stdout)")
        }
    }

    /// Bad input: a --manual stage list with an item that is not a stage, or a weight that is
    /// not a positive number, stops before training with the recipe's line and the item.
    @Test(.enabled(if: Runner.haveFashionMNIST), arguments: [("4x3,bogus,7x6", "'bogus' is not a stage"),
                                                             ("4x3,7x6:0", "'7x6:0' has no valid weight"),
                                                             ("4x3,,7x6", "'' is not a stage")])
    func badManualSchedulesAreNamed(spec: String, message: String) throws {
        let r = try Runner()
        let recipe = Runner.scripts.appendingPathComponent("vit_pretrain.lua")
        let result = try r.run([recipe.path, "--model=vit-nano", "--epochs=1", "--train_subset=64", "--eval_subset=64",
                                "--schedule=manual", "--manual=\(spec)"])
        #expect(result.status != 0, "\(result.stdout)")
        #expect(result.stderr.contains("vit_pretrain.lua:") && result.stderr.contains(message), "\(result.stderr)")
        #expect(!result.stdout.contains("top-1"), "\(result.stdout)")
    }

    /// scripts/autoprog_one.lua (vit_pretrain.lua with --schedule=autoprog) end to end,
    /// then vit_pretrain.lua --replay of the schedule it recorded.
    @Test(.enabled(if: Runner.haveFashionMNIST)) func autoprogOneRecipeAndItsReplay() throws {
        let r = try Runner()
        let scripts = Runner.scripts
        let small = ["--model=vit-nano", "--epochs=1", "--train_subset=512", "--eval_subset=128", "--batch=32"]
        let searched = try r.run([scripts.appendingPathComponent("autoprog_one.lua").path, "--search_steps=1", "--search_images=64"] + small)
        #expect(searched.status == 0, "\(searched.stderr)")
        #expect(searched.stdout.contains("autoprog schedule: top-1"), "\(searched.stdout)")
        let record = try Self.schedule(searched.runDirectory)
        #expect(record.stages.count == 4 && record.stages.allSatisfy { $0.chosen != nil })
        // Each searched stage trained its supernet one step, or had a single candidate.
        #expect(record.stages.prefix(3).allSatisfy { ($0.searchSteps?.count == 1 && !$0.candidates.isEmpty) || $0.searchSteps == nil })
        let path = try #require(searched.runDirectory).appendingPathComponent("schedule.json").path
        let replayed = try r.run([scripts.appendingPathComponent("vit_pretrain.lua").path, "--replay=\(path)"] + small)
        #expect(replayed.status == 0, "\(replayed.stderr)")
        #expect(replayed.stdout.contains("replayed schedule: top-1"), "\(replayed.stdout)")
    }

    /// scripts/fid_features.lua end to end on a few hundred images: it writes a checkpoint
    /// the metrics load strictly, with its test accuracy in the metadata.
    @Test(.enabled(if: Runner.haveFashionMNIST)) func fidFeatureRecipe() throws {
        let r = try Runner()
        let recipe = Runner.scripts.appendingPathComponent("fid_features.lua")
        let out = r.workDirectory.appendingPathComponent("features.safetensors")
        let result = try r.run([recipe.path, "--epochs=1", "--train_subset=256", "--eval_subset=128", "--batch=64",
                                "--out=\(out.path)"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("feature network: test top-1"), "\(result.stdout)")
        let network = try FeatureNetwork.load(out)
        #expect(network.checkpointMetadata["recipe"] == "scripts/fid_features.lua")
        #expect(network.checkpointMetadata["test_images"] == "128" && network.checkpointMetadata["test_top1"] != nil)
    }
}
