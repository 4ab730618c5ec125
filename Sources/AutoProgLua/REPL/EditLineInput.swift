@preconcurrency import CEdit
import Foundation

/// Terminal line editing through libedit's readline-compatible API: history (kept in
/// `~/.autoprog_history`, last 1000 lines) and Tab completion of Lua names.
///
/// libedit is process-global state, so use one `EditLineInput` at a time. Its own signal
/// handling is switched off (`rl_catch_signals = 0`; libedit would otherwise re-send
/// SIGINT to the whole process group): a Ctrl-C reaches `Interrupts`, the blocked read
/// fails with EINTR and `readline` returns, and the REPL starts a fresh line.
public final class EditLineInput: LineInput {
    private let historyPath: String?

    /// - Parameter historyFile: where history persists; nil keeps it in memory only.
    public convenience init(historyFile: URL? = EditLineInput.defaultHistoryFile) {
        self.init(historyFile: historyFile, input: nil, output: nil)
    }

    /// `input`/`output` replace stdin/stdout (tests drive libedit through a pty).
    init(historyFile: URL?, input: UnsafeMutablePointer<FILE>?, output: UnsafeMutablePointer<FILE>?) {
        historyPath = historyFile?.path
        rl_readline_name = UnsafePointer(strdup("autoprog"))
        rl_catch_signals = 0
        if let input { rl_instream = input }
        if let output { rl_outstream = output }
        rl_initialize()
        using_history()
        stifle_history(1000)
        if let historyPath { _ = read_history(historyPath) }
        // Keep "a.b.c" and "obj:meth" in one word so completion sees the whole path.
        let breaks = strdup(" \t\n\"'`@$><=;|&{([+-*/%^~#,")
        rl_basic_word_break_characters = UnsafePointer(breaks)
        rl_completer_word_break_characters = breaks
        rl_completion_entry_function = completionGenerator
        rl_completion_append_character = 0
    }

    public static var defaultHistoryFile: URL? {
        guard let home = ProcessInfo.processInfo.environment["HOME"] else { return nil }
        return URL(fileURLWithPath: home).appendingPathComponent(".autoprog_history")
    }

    public func readLine(prompt: String) -> String? {
        guard let raw = readline(prompt) else { return nil }
        defer { free(raw) }
        let line = String(cString: raw)
        if !line.trimmingCharacters(in: .whitespaces).isEmpty {
            let last = history_length > 0 ? history_get(history_base + history_length - 1) : nil
            if last?.pointee.line.map({ String(cString: $0) }) != line {
                add_history(line)
                if let historyPath { _ = write_history(historyPath) }
            }
        }
        return line
    }
}

/// The completion source libedit's C callback consults: set by `REPL.run` for the
/// duration of a session (a C callback cannot capture Swift context).
enum LineCompletion {
    nonisolated(unsafe) static var active: LuaEvaluator?
    nonisolated(unsafe) fileprivate static var candidates: [String] = []
    nonisolated(unsafe) fileprivate static var next = 0
}

/// readline's generator protocol: state 0 computes the candidates, each call returns the
/// next one as a malloc'd string (libedit frees it), nil when done.
private let completionGenerator: @convention(c) (UnsafePointer<CChar>?, Int32) -> UnsafeMutablePointer<CChar>? = {
    text, state in
    if state == 0 {
        LineCompletion.candidates = text.flatMap { LineCompletion.active?.completions(for: String(cString: $0)) } ?? []
        LineCompletion.next = 0
    }
    guard LineCompletion.next < LineCompletion.candidates.count else { return nil }
    defer { LineCompletion.next += 1 }
    return strdup(LineCompletion.candidates[LineCompletion.next])
}
