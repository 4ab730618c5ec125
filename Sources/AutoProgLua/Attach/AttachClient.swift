import Foundation

/// `autoprog-run attach RUN_DIR`: talks to a live run's `AttachServer` over
/// `RUN_DIR/repl.sock`. Each input runs in the run's Lua state at its next step boundary,
/// through the same `LuaEvaluator` as the terminal REPL, so it behaves identically.
public final class AttachClient {
    public let socketPath: URL
    private var fd: Int32

    /// Connects to the run in `runDirectory`; `AttachError.noRunningJob` when no live run
    /// serves it (no socket file, or a stale one nobody listens on).
    public convenience init(runDirectory: URL) throws {
        try self.init(socketPath: runDirectory.appendingPathComponent("repl.sock"),
                      describedAs: runDirectory.path)
    }

    public init(socketPath: URL, describedAs description: String? = nil) throws {
        self.socketPath = socketPath
        fd = try UnixSocket.makeSocket()
        let connected = try UnixSocket.withAddress(socketPath.path) { connect(fd, $0, $1) }
        guard connected == 0 else {
            let code = errno
            Glibc.close(fd)
            if code == ENOENT || code == ECONNREFUSED || code == ENOTDIR {
                throw AttachError.noRunningJob(description ?? socketPath.path)
            }
            throw AttachError.system("connect \(socketPath.path)", code)
        }
    }

    deinit { close() }

    public var isConnected: Bool { fd >= 0 }

    /// Sends one frame and waits for its reply (until the run reaches a step boundary).
    /// After a `.detach` reply the connection is closed.
    public func request(_ frame: AttachFrame) throws -> AttachFrame {
        guard fd >= 0 else { throw AttachError.disconnected }
        guard UnixSocket.writeAll(fd, frame.encoded) else {
            close()
            throw AttachError.disconnected
        }
        guard let reply = try UnixSocket.readFrame(fd) else {
            close()
            throw AttachError.disconnected
        }
        if case .detach = reply { close() }
        return reply
    }

    /// Runs `chunk` in the run and returns what it printed and returned (failures as
    /// `error: …` text, as the REPL shows them).
    public func send(_ chunk: String) throws -> String {
        switch try request(.evaluate(chunk)) {
        case .output(let text), .failure(let text), .detach(let text), .notice(let text): return text
        case .evaluate, .pause: throw AttachError.protocolViolation("the server sent a request frame")
        }
    }

    /// Asks the run to pause at its next step boundary; returns its notice once paused.
    public func pause() throws -> String {
        switch try request(.pause) {
        case .notice(let text): return text
        default: throw AttachError.protocolViolation("expected a notice in reply to pause")
        }
    }

    /// Detaches; the run goes on (a session paused by this client resumes).
    public func close() {
        guard fd >= 0 else { return }
        Glibc.close(fd)
        fd = -1
    }

    /// The attach prompt: same prompts (`ap> `, `..> `) and multi-line handling as the
    /// REPL, checked locally with a scratch Lua state (compiled, never run). `continue()`
    /// or end of input detaches; `\pause` pauses the run until `continue()`; every other
    /// input, including `stop()`/`exit()` (which end the run), runs remotely. Ctrl-C
    /// cancels the line being typed; while waiting for a reply it ends this client (the
    /// run is unaffected). Returns when detached or when the run goes away.
    public func interactive(input: LineInput, output: (String) -> Void) {
        let syntax = LuaState()
        output("attached to \(socketPath.deletingLastPathComponent().path): inputs run at the next step boundary; "
               + "continue() or Ctrl-D detaches, \\pause pauses the run, stop() ends it\n")
        var reader = PromptReader()
        reading: while isConnected {
            Interrupts.install()
            let savedPhase = Interrupts.phase
            let read = reader.readLine(from: input, output: output, phaseAfter: savedPhase)
            Interrupts.uninstall()
            let line: String
            switch read {
            case .cancelled: continue
            case .end: break reading
            case .text(let text): line = text
            }
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if reader.isAtStart {
                if trimmed.isEmpty { continue }
                if trimmed == "continue()" { break reading }
                if trimmed == "\\pause" {
                    output("waiting for the next step boundary…\n")
                    do { output(try pause() + "\n") } catch { output("\(error)\n") }
                    continue
                }
            }
            let chunk = reader.gather(line)
            if LuaEvaluator.isIncomplete(chunk, in: syntax) { continue }
            reader.reset()
            do {
                output(try send(chunk))
            } catch {
                output("\(error)\n")
            }
        }
        close()
        output("detached\n")
    }
}
