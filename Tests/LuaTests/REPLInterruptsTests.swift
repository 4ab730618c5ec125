import Foundation
import Testing
@testable import AutoProgLua

/// Sends SIGINT to `thread` after `delay` seconds, from a background thread.
private func interrupt(_ thread: pthread_t, after delay: Double, then action: @escaping @Sendable () -> Void = {}) {
    Thread {
        usleep(UInt32(delay * 1_000_000))
        pthread_kill(thread, SIGINT)
        action()
    }.start()
}

@Suite struct REPLInterruptsTests {
    @Test func ctrlCDuringTrainingRequestsAPauseWithoutKilling() {
        Interrupts.resetPressHistory()
        Interrupts.withTrainingInterrupts {
            #expect(!Interrupts.pauseRequested)
            let before = Interrupts.signalCount
            raise(SIGINT)
            #expect(Interrupts.signalCount == before + 1)
            #expect(Interrupts.pauseRequested)
            Interrupts.clearPause()
            #expect(!Interrupts.pauseRequested)
        }
        #expect(!Interrupts.isInstalled)
        Interrupts.resetPressHistory()
    }

    @Test func ctrlCInterruptsARunawayEvaluation() {
        Interrupts.resetPressHistory()
        Interrupts.install()
        defer {
            Interrupts.phase = .training
            Interrupts.uninstall()
            Interrupts.resetPressHistory()
        }
        Interrupts.phase = .evaluating
        let evaluator = LuaEvaluator(lua: LuaState())
        interrupt(pthread_self(), after: 0.1)
        guard case .error(let message, _) = evaluator.evaluate("while true do end") else {
            Issue.record("the loop was not interrupted")
            return
        }
        #expect(message.hasPrefix("repl:1: interrupted"))
        #expect(!Interrupts.pauseRequested)  // paused already: Ctrl-C here only stops the input
        #expect(evaluator.evaluate("1 + 1") == .output("2\n"))  // the state is still usable
    }

    @Test func ctrlCAtThePromptCancelsTheLineAndKeepsTheSession() throws {
        Interrupts.resetPressHistory()
        Interrupts.install()
        defer {
            Interrupts.uninstall()
            Interrupts.resetPressHistory()
        }
        let pipe = Pipe()
        let writer = pipe.fileHandleForWriting
        writer.write(Data("for i = 1, 2 do\n".utf8))
        var output = ""
        let repl = REPL(lua: LuaState(), input: PlainLineInput(handle: pipe.fileHandleForReading),
                        output: { output += $0 })
        repl.banner = nil
        // Ctrl-C while the REPL waits for the rest of the `for`, then a fresh input.
        interrupt(pthread_self(), after: 0.2) {
            usleep(100_000)
            writer.write(Data("1 + 1\n".utf8))
            try? writer.close()
        }
        #expect(repl.run() == .continued)
        #expect(output == "^C\n2\n\n")
        #expect(!Interrupts.pauseRequested)
    }
}
