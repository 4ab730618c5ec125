import Foundation

/// The interactive side of a training run, polled at step boundaries: the terminal REPL
/// after a Ctrl-C, and the attach socket (`RUN_DIR/repl.sock`). Both share one
/// `LuaEvaluator`, so `autoprog-run attach` behaves like the local REPL.
///
/// Integration (everything on the thread that owns the Lua state):
///
///     let console = try RunConsole(lua: lua, runDirectory: runDir)   // creates repl.sock
///     console.bindGlobals(["model", "opt", "run"])   // after setting those Lua globals
///     defer { console.close() }                       // removes repl.sock
///     try Interrupts.withTrainingInterrupts {
///         for step in ... {
///             trainStep()
///             if console.atStepBoundary("step \(step), epoch \(epoch)") == .stop { break }
///         }
///     }
public final class RunConsole {
    public enum Decision: Equatable, Sendable {
        case proceed
        case stop
    }

    public let evaluator: LuaEvaluator
    public let server: AttachServer?
    private let input: () -> LineInput
    private let output: (String) -> Void
    private var terminalInput: LineInput?

    /// - Parameters:
    ///   - runDirectory: where to serve `repl.sock`; nil runs without attach.
    ///   - input: the REPL's line source, created on first pause (default: libedit on a
    ///     terminal stdin, plain lines otherwise).
    ///   - output: where the REPL writes (default: stdout).
    public init(lua: LuaState, runDirectory: URL?,
                input: @escaping () -> LineInput = standardLineInput,
                output: @escaping (String) -> Void = { FileHandle.standardOutput.write(Data($0.utf8)) }) throws {
        evaluator = LuaEvaluator(lua: lua)
        server = try runDirectory.map { try AttachServer(socketPath: $0.appendingPathComponent("repl.sock")) }
        self.input = input
        self.output = output
    }

    /// Records the live objects' global names for `help()`.
    public func bindGlobals(_ names: [String]) { evaluator.bindGlobals(names) }

    /// Call at every step boundary: runs queued attach inputs, serves an attach pause, and
    /// opens the terminal REPL if Ctrl-C was pressed. Returns `.stop` when `stop()`/`exit()`
    /// was called from either side. `position` describes where the run is, for the notices.
    public func atStepBoundary(_ position: @autoclosure () -> String) -> Decision {
        if let server {
            if server.drain(evaluator: evaluator) == .stop { return .stop }
            if server.pauseRequested {
                let notice = "run paused at \(position()); continue() resumes it, stop() ends it"
                if server.serveSession(evaluator: evaluator, notice: notice) == .stop { return .stop }
            }
        }
        guard Interrupts.pauseRequested else { return .proceed }
        defer { Interrupts.clearPause() }
        output("\npaused at \(position())\n")
        let source = terminalInput ?? input()
        terminalInput = source
        let repl = REPL(evaluator: evaluator, input: source, output: output)
        return repl.run() == .stopRequested ? .stop : .proceed
    }

    /// Removes the socket and disconnects attached clients.
    public func close() { server?.close() }
}
