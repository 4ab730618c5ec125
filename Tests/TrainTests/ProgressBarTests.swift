import Foundation
import Testing
@testable import AutoProg

@Suite struct ProgressBarTests {
    /// A bar writing into a file, with a clock the test advances.
    private final class Harness {
        let tmp: TemporaryDirectory
        let bar: ProgressBar
        var now = 1000.0

        init(total: Int, isTerminal: Bool, plainEvery: Int = 50, width: Int? = nil) throws {
            tmp = try TemporaryDirectory()
            _ = FileManager.default.createFile(atPath: tmp.file("out").path, contents: nil)
            bar = ProgressBar(total: total, isTerminal: isTerminal, output: try FileHandle(forWritingTo: tmp.file("out")), plainEvery: plainEvery)
            bar.clock = { [unowned self] in now }
            bar.width = width
        }

        var output: String { (try? tmp.read("out")) ?? "" }
    }

    @Test func formatsDurationsLikeTqdm() {
        #expect(ProgressBar.formatDuration(0) == "00:00")
        #expect(ProgressBar.formatDuration(123.9) == "02:03")
        #expect(ProgressBar.formatDuration(3599) == "59:59")
        #expect(ProgressBar.formatDuration(3723) == "1:02:03")
        #expect(ProgressBar.formatDuration(100 * 3600 + 5) == "100:00:05")
        #expect(ProgressBar.formatDuration(-5) == "00:00")
        #expect(ProgressBar.formatDuration(.infinity) == "?")
    }

    @Test func plainModePrintsEveryNStepsAndAtTheEnd() throws {
        let h = try Harness(total: 120, isTerminal: false, plainEvery: 50)
        for step in 1...110 {
            h.now += 0.5
            h.bar.update(step: step, loss: 1 / Float(step), learningRate: 1e-3, imagesPerSecond: nil, stage: "warmup")
        }
        h.bar.message("epoch 1 done")
        h.bar.finish()
        h.bar.finish()
        let lines = h.output.split(separator: "\n").map(String.init)
        #expect(lines.count == 4)
        // 49 steps after the first report took 24.5 s: 2 it/s; 70 steps left take 35 s.
        #expect(lines[0] == "step 50/120 (41%)  stage warmup  loss 0.02  lr 1.00e-03  2.00it/s  elapsed 00:24  eta 00:35")
        #expect(lines[1].hasPrefix("step 100/120 (83%)"))
        #expect(lines[2] == "epoch 1 done")
        #expect(lines[3].hasPrefix("step 110/120 (91%)  stage warmup  loss 0.009091"))
        #expect(!h.output.contains("\r"))
    }

    @Test func plainModeDoesNotRepeatTheLastLine() throws {
        let h = try Harness(total: 100, isTerminal: false, plainEvery: 50)
        for step in 1...100 { h.bar.update(step: step, loss: nil, learningRate: nil, imagesPerSecond: 512, stage: nil) }
        h.bar.finish()
        let lines = h.output.split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines[1].hasPrefix("step 100/100 (100%)"))
    }

    @Test func terminalLineFitsTheWidth() throws {
        for width in [80, 100, 120] {
            let h = try Harness(total: 1000, isTerminal: true, width: width)
            h.bar.update(step: 1, loss: nil, learningRate: nil, imagesPerSecond: nil, stage: nil)
            h.now += 10
            h.bar.update(step: 371, loss: 0.1234, learningRate: 0.001, imagesPerSecond: 1234.4, stage: "grow")
            let line = h.bar.line(now: h.now)
            #expect(line.count == width - 1, "width \(width): \(line)")
            #expect(line.hasPrefix("grow  37%|"))
            #expect(line.hasSuffix("| 371/1000 [00:10<00:17, 1234img/s, loss=0.1234, lr=1.00e-03]"))
        }
        // Too narrow for a bar: the text is kept, cut to the width.
        let medium = try Harness(total: 1000, isTerminal: true, width: 60)
        medium.bar.update(step: 371, loss: 0.1234, learningRate: 0.001, imagesPerSecond: nil, stage: "grow")
        #expect(medium.bar.line(now: medium.now) == "grow  37% 371/1000 [00:00<?, loss=0.1234, lr=1.00e-03]")
        let narrow = try Harness(total: 10, isTerminal: true, width: 20)
        narrow.bar.update(step: 5, loss: 0.5, learningRate: nil, imagesPerSecond: nil, stage: nil)
        #expect(narrow.bar.line(now: narrow.now) == " 50% 5/10 [00:00<?,")
    }

    @Test func barUsesEighthBlocks() {
        #expect(ProgressBar.bar(0, width: 4) == "    ")
        #expect(ProgressBar.bar(0.5, width: 4) == "██  ")
        #expect(ProgressBar.bar(0.53125, width: 4) == "██▏ ")
        #expect(ProgressBar.bar(1, width: 4) == "████")
    }

    @Test func terminalModeRedrawsInPlaceAtMostTenTimesASecond() throws {
        let h = try Harness(total: 100, isTerminal: true, width: 60)
        for step in 1...100 {
            h.now += 0.01  // 100 steps per second
            h.bar.update(step: step, loss: nil, learningRate: nil, imagesPerSecond: nil, stage: nil)
        }
        h.bar.message("note")
        h.bar.finish()
        let out = h.output
        let draws = out.components(separatedBy: "\r").count - 1
        #expect(draws >= 10 && draws <= 14, "\(draws) redraws")
        #expect(out.contains("\r\u{1B}[Knote\n"))
        let last = try #require(out.components(separatedBy: "\r").last)
        #expect(last.hasPrefix("100%|") && last.contains("| 100/100 [00:00<00:00, 10"))
        #expect(last.hasSuffix("it/s]\u{1B}[K\n"))
    }
}
