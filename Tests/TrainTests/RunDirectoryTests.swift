import Foundation
import Testing
import Collections
@testable import AutoProg

@Suite struct RunDirectoryTests {
    @Test func createsTimestampedDirectoryWithSubdirectoriesAndSuffixes() throws {
        let tmp = try TemporaryDirectory()
        let date = Date(timeIntervalSince1970: 1_700_000_000)
        let first = try RunDirectory(root: tmp.url.appendingPathComponent("runs"), name: "vit", date: date)
        let second = try RunDirectory(root: tmp.url.appendingPathComponent("runs"), name: "vit", date: date)
        let third = try RunDirectory(root: tmp.url.appendingPathComponent("runs"), name: "vit", date: date)
        let stamp = RunDirectory.timestamp(date)
        #expect(stamp.count == 15 && stamp.dropFirst(8).first == "-")
        #expect(first.url.lastPathComponent == "vit-\(stamp)")
        #expect(second.url.lastPathComponent == "vit-\(stamp)-2")
        #expect(third.url.lastPathComponent == "vit-\(stamp)-3")
        var isDirectory: ObjCBool = false
        #expect(FileManager.default.fileExists(atPath: first.checkpointsURL.path, isDirectory: &isDirectory) && isDirectory.boolValue)
        #expect(FileManager.default.fileExists(atPath: first.samplesURL.path, isDirectory: &isDirectory) && isDirectory.boolValue)
        #expect(first.metricsURL.lastPathComponent == "metrics.jsonl")
        #expect(first.summaryURL.lastPathComponent == "summary.csv")
        #expect(first.notebookURL.lastPathComponent == "notebook.ipynb")
        #expect(throws: RunFileError.self) { try RunDirectory(root: tmp.url, name: "a/b") }
        #expect(throws: RunFileError.self) { try RunDirectory(root: tmp.url, name: "") }
    }

    @Test func configRoundTripsAndExistingValidates() throws {
        let tmp = try TemporaryDirectory()
        let run = try RunDirectory(root: tmp.url, name: "mlp")
        #expect(throws: RunFileError.self) { try RunDirectory(existing: run.url) }  // no config yet
        let config: JSONValue = ["recipe": "mlp.lua", "seed": 42, "lr": 0.001, "options": ["epochs": 3]]
        try run.writeConfig(config)
        let text = try String(contentsOf: run.url.appendingPathComponent("config.json"), encoding: .utf8)
        #expect(text.hasPrefix("{\n  \"recipe\": \"mlp.lua\",") && text.hasSuffix("}\n"))
        let reopened = try RunDirectory(existing: run.url)
        #expect(try reopened.readConfig() == config)
        #expect(throws: RunFileError.self) { try RunDirectory(existing: tmp.url) }
        #expect(throws: RunFileError.self) { try RunDirectory(existing: tmp.file("missing")) }
        try Data("{oops".utf8).write(to: run.url.appendingPathComponent("config.json"))
        #expect(throws: RunFileError.self) { try reopened.readConfig() }
    }
}

@Suite struct MetricsLogTests {
    @Test func appendsOneObjectPerLine() throws {
        let tmp = try TemporaryDirectory()
        let log = try MetricsLog(url: tmp.file("metrics.jsonl"))
        try log.append(["step": 1, "loss": 0.5])
        try log.append(["step": 2, "loss": JSONValue(Float(0.25)), "stage": "grow"])
        log.flush()
        // Visible to a reader before the log is closed.
        #expect(try tmp.read("metrics.jsonl") == "{\"step\":1,\"loss\":0.5}\n{\"step\":2,\"loss\":0.25,\"stage\":\"grow\"}\n")
        #expect(throws: RunFileError.self) { try log.append([1, 2]) }
    }

    @Test func resumingTruncatesToMatchAnUninterruptedRun() throws {
        let tmp = try TemporaryDirectory()
        let records: [JSONValue] = (1...6).map { ["step": .integer($0), "loss": .number(1 / Double($0))] }

        let uninterrupted = try MetricsLog(url: tmp.file("a.jsonl"))
        for r in records { try uninterrupted.append(r) }

        // Interrupted after step 5 with a torn line; the last checkpoint was at step 3.
        do {
            let first = try MetricsLog(url: tmp.file("b.jsonl"))
            for r in records.prefix(5) { try first.append(r) }
            try first.append(["event": "note"])
        }
        let handle = try FileHandle(forWritingTo: tmp.file("b.jsonl"))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("{\"step\":6,\"lo".utf8))
        try handle.close()

        let resumed = try MetricsLog(url: tmp.file("b.jsonl"), truncatingAfterStep: 3)
        #expect(try tmp.read("b.jsonl").split(separator: "\n").count == 3)
        for r in records.dropFirst(3) { try resumed.append(r) }
        #expect(try tmp.read("b.jsonl") == tmp.read("a.jsonl"))
    }

    @Test func reopeningWithoutTruncationDropsOnlyATornLine() throws {
        let tmp = try TemporaryDirectory()
        try Data("{\"step\":1}\nnot json\n{\"step\":2".utf8).write(to: tmp.file("m.jsonl"))
        let log = try MetricsLog(url: tmp.file("m.jsonl"))
        try log.append(["step": 2])
        #expect(try tmp.read("m.jsonl") == "{\"step\":1}\nnot json\n{\"step\":2}\n")
    }
}

@Suite struct SummaryCSVTests {
    @Test func quotesPerRFC4180() throws {
        let tmp = try TemporaryDirectory()
        let csv = try SummaryCSV(url: tmp.file("s.csv"))
        try csv.append(["epoch": 1, "note": "a,b", "quote": "say \"hi\"", "lines": "x\ny", "loss": 0.5, "nan": .number(.nan), "none": nil])
        #expect(try tmp.read("s.csv") == "epoch,note,quote,lines,loss,nan,none\n1,\"a,b\",\"say \"\"hi\"\"\",\"x\ny\",0.5,nan,\n")
        #expect(SummaryCSV.parse(try tmp.read("s.csv"))[1] == ["1", "a,b", "say \"hi\"", "x\ny", "0.5", "nan", ""])
    }

    @Test func newKeysExtendTheHeaderAndMissingKeysStayEmpty() throws {
        let tmp = try TemporaryDirectory()
        let csv = try SummaryCSV(url: tmp.file("s.csv"))
        try csv.append(["epoch": 1, "loss": 0.5])
        try csv.append(["epoch": 2, "loss": 0.25, "val_acc": 0.75])
        try csv.append(["epoch": 3, "val_acc": 0.8])
        try csv.append(["loss": 0.125, "epoch": 4])
        #expect(try tmp.read("s.csv") == "epoch,loss,val_acc\n1,0.5,\n2,0.25,0.75\n3,,0.8\n4,0.125,\n")
    }

    @Test func resumingDropsLaterEpochsAndKeepsTheHeader() throws {
        let tmp = try TemporaryDirectory()
        do {
            let csv = try SummaryCSV(url: tmp.file("s.csv"))
            for e in 1...4 { try csv.append(["epoch": .integer(e), "loss": .number(Double(e))]) }
        }
        let resumed = try SummaryCSV(url: tmp.file("s.csv"), truncatingAfterEpoch: 2)
        #expect(try tmp.read("s.csv") == "epoch,loss\n1,1.0\n2,2.0\n")
        try resumed.append(["epoch": 3, "loss": 3.0])
        #expect(try tmp.read("s.csv") == "epoch,loss\n1,1.0\n2,2.0\n3,3.0\n")
    }

    @Test func parserHandlesCRLFQuotesAndTornRecords() {
        #expect(SummaryCSV.parse("a,b\r\n\"x\"\"y\",\"1,2\"\r\n3,\"unfinished") == [["a", "b"], ["x\"y", "1,2"]])
        #expect(SummaryCSV.parse("") == [])
    }
}
