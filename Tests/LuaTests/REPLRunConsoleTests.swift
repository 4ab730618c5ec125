import Foundation
import Testing
@testable import AutoProgLua

@Suite struct REPLRunConsoleTests {
    @Test func aPendingCtrlCOpensTheREPLAtTheStepBoundary() throws {
        let lua = LuaState()
        try lua.run("model = { depth = 12 }")
        var output = ""
        var lines = [["model.depth", "continue()"], ["stop()"]]
        let console = try RunConsole(lua: lua, runDirectory: nil,
                                     input: { ScriptedLineInput(lines.removeFirst()) }, output: { output += $0 })
        #expect(console.atStepBoundary("step 1") == .proceed)  // no Ctrl-C: nothing happens
        #expect(output.isEmpty)

        Interrupts.pause.store(true, ordering: .releasing)
        #expect(console.atStepBoundary("step 2") == .proceed)
        #expect(output.contains("paused at step 2\n"))
        #expect(output.hasSuffix("12\n"))
        #expect(!Interrupts.pauseRequested)  // consumed

        // The terminal input is created once and reused by later pauses.
        Interrupts.pause.store(true, ordering: .releasing)
        #expect(console.atStepBoundary("step 3") == .proceed)  // the same (now exhausted) input: EOF continues
        #expect(lines.count == 1)
    }

    @Test func anAttachedStopEndsTheRun() throws {
        let directory = URL(fileURLWithPath: "/tmp/ap-console-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let console = try RunConsole(lua: LuaState(), runDirectory: directory, output: { _ in })
        defer { console.close() }
        Thread { _ = try? AttachClient(runDirectory: directory).send("stop()") }.start()
        var decision = RunConsole.Decision.proceed
        let deadline = Date().addingTimeInterval(5)
        while decision == .proceed && Date() < deadline {
            decision = console.atStepBoundary("step 9")
            usleep(2000)
        }
        #expect(decision == .stop)
        console.close()
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("repl.sock").path))
    }
}
