import Foundation

/// The interactive prompt a paused run opens (Ctrl-C at a step boundary).
///
/// Prompt `ap> `, continuation `..> ` while the input is an unfinished statement. Input is
/// evaluated by a `LuaEvaluator` (expressions auto-print; errors print `error: message` and
/// the traceback and never end the session). `print` output streams to `output` as it
/// happens. The session ends with `continue()` or end of input (`.continued`) or with
/// `stop()`/`exit()` (`.stopRequested`); Ctrl-C at the prompt only cancels the line.
public final class REPL {
    public enum Outcome: Equatable, Sendable {
        case continued
        case stopRequested
    }

    public let evaluator: LuaEvaluator
    private let input: LineInput
    private let output: (String) -> Void
    /// Printed when `run()` starts; nil for none.
    public var banner: String? =
        "autoprog REPL (Lua 5.4): help() for a guide, continue() resumes, stop() ends the run"

    public convenience init(lua: LuaState, input: LineInput, output: @escaping (String) -> Void) {
        self.init(evaluator: LuaEvaluator(lua: lua), input: input, output: output)
    }

    /// Shares `evaluator` (and so its state's globals) with other front ends, e.g. attach.
    public init(evaluator: LuaEvaluator, input: LineInput, output: @escaping (String) -> Void) {
        self.evaluator = evaluator
        self.input = input
        self.output = output
    }

    /// Records the names of the live objects the caller set as Lua globals, for `help()`.
    public func bindGlobals(_ names: [String]) { evaluator.bindGlobals(names) }

    /// Reads and evaluates input until `continue()`, `stop()`/`exit()` or end of input.
    public func run() -> Outcome {
        let savedPhase = Interrupts.phase
        let savedCompletion = LineCompletion.active
        let savedPrint = evaluator.onPrint
        LineCompletion.active = evaluator
        evaluator.onPrint = output
        _ = evaluator.takeControlRequest()
        defer {
            Interrupts.phase = savedPhase
            LineCompletion.active = savedCompletion
            evaluator.onPrint = savedPrint
        }
        if let banner { output(banner + "\n") }

        var reader = PromptReader()
        while true {
            let line: String
            switch reader.readLine(from: input, output: output, phaseAfter: .evaluating) {
            case .cancelled: continue
            case .end: return .continued
            case .text(let text): line = text
            }
            if reader.isAtStart && line.allSatisfy(\.isWhitespace) { continue }
            let result = evaluator.evaluate(reader.gather(line))
            if result == .incomplete { continue }
            reader.reset()
            output(result.displayText)
            switch evaluator.takeControlRequest() {
            case .continue?: return .continued
            case .stop?: return .stopRequested
            case nil: break
            }
        }
    }
}
