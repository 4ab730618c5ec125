import Foundation

/// Where the REPL reads its lines. `nil` means end of input (Ctrl-D), which the REPL
/// treats as `continue()`.
public protocol LineInput: AnyObject {
    func readLine(prompt: String) -> String?
}

/// The REPL's input on stdin: line editing with history and completion (`EditLineInput`)
/// when stdin is a terminal, plain lines (`PlainLineInput`) otherwise.
public func standardLineInput() -> LineInput {
    isatty(STDIN_FILENO) == 1 ? EditLineInput() : PlainLineInput(handle: .standardInput)
}

/// Fixed lines, for tests: each `readLine` returns the next one, then nil. Records the
/// prompts it was shown.
public final class ScriptedLineInput: LineInput {
    private var lines: [String]
    public private(set) var prompts: [String] = []

    public init(_ lines: [String]) { self.lines = lines }

    public func readLine(prompt: String) -> String? {
        prompts.append(prompt)
        return lines.isEmpty ? nil : lines.removeFirst()
    }
}

/// Lines from a file descriptor (a pipe, a file, a socket), without editing.
///
/// Prompts are not echoed by default: when input is piped, a transcript without `ap> `
/// noise is more useful. Pass `promptOutput` to show them anyway. A Ctrl-C while blocked
/// here (the `read` fails with EINTR after `Interrupts` counted it) returns "" at once so
/// the REPL can cancel the line; other EINTRs are retried.
public final class PlainLineInput: LineInput {
    private let descriptor: Int32
    private let promptOutput: ((String) -> Void)?
    private var buffer: [UInt8] = []
    private var atEnd = false

    public init(handle: FileHandle, promptOutput: ((String) -> Void)? = nil) {
        descriptor = handle.fileDescriptor
        self.promptOutput = promptOutput
    }

    public func readLine(prompt: String) -> String? {
        promptOutput?(prompt)
        let signalsBefore = Interrupts.signalCount
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                var line = Array(buffer[..<newline])
                buffer.removeSubrange(...newline)
                if line.last == UInt8(ascii: "\r") { line.removeLast() }
                return String(decoding: line, as: UTF8.self)
            }
            if atEnd {
                guard !buffer.isEmpty else { return nil }
                defer { buffer.removeAll() }
                return String(decoding: buffer, as: UTF8.self)
            }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count > 0 {
                buffer.append(contentsOf: chunk[..<count])
            } else if count == 0 {
                atEnd = true
            } else if errno == EINTR {
                if Interrupts.signalCount != signalsBefore { return "" }
            } else {
                atEnd = true
            }
        }
    }
}
