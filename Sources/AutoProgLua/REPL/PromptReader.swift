/// The typing side shared by the REPL and the attach client, so both behave alike:
/// prompt `ap> `, continuation `..> ` while the lines gathered so far are an unfinished
/// chunk, and Ctrl-C at the prompt drops the unfinished input instead of ending anything.
struct PromptReader {
    enum Line {
        case text(String)
        case cancelled
        case end
    }

    private var pending: [String] = []

    /// True when no unfinished input is being gathered.
    var isAtStart: Bool { pending.isEmpty }

    /// Reads one line at the right prompt with the interrupt phase set to `.prompt`, then
    /// sets it to `phaseAfter`. A Ctrl-C while reading cancels the gathered input.
    mutating func readLine(from input: LineInput, output: (String) -> Void,
                           phaseAfter: Interrupts.Phase) -> Line {
        let signalsBefore = Interrupts.signalCount
        Interrupts.phase = .prompt
        let line = input.readLine(prompt: pending.isEmpty ? "ap> " : "..> ")
        Interrupts.phase = phaseAfter
        if Interrupts.signalCount != signalsBefore {
            pending.removeAll()
            output("^C\n")
            return .cancelled
        }
        guard let line else {
            output("\n")
            return .end
        }
        return .text(line)
    }

    /// Adds `line` to the input being gathered and returns all of it.
    mutating func gather(_ line: String) -> String {
        pending.append(line)
        return pending.joined(separator: "\n")
    }

    /// Starts a new input (after a complete chunk has been handled).
    mutating func reset() { pending.removeAll() }
}
