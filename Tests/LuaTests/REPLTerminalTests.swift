import Foundation
import Testing
@testable import AutoProgLua

/// A pseudo-terminal pair: libedit edits on the slave side, the test types on the master.
private struct PseudoTerminal {
    let master: Int32
    let slave: UnsafeMutablePointer<FILE>

    init() throws {
        // glibc declares these only under _XOPEN_SOURCE, which Swift's Glibc module lacks.
        typealias IntFunction = @convention(c) (Int32) -> Int32
        typealias NameFunction = @convention(c) (Int32, UnsafeMutablePointer<CChar>, Int) -> Int32
        func symbol<F>(_ name: String, as type: F.Type) throws -> F {
            guard let p = dlsym(UnsafeMutableRawPointer(bitPattern: 0), name) else { throw POSIXError(.ENOSYS) }
            return unsafeBitCast(p, to: type)
        }
        let openpt = try symbol("posix_openpt", as: IntFunction.self)
        let grantpt = try symbol("grantpt", as: IntFunction.self)
        let unlockpt = try symbol("unlockpt", as: IntFunction.self)
        let ptsname = try symbol("ptsname_r", as: NameFunction.self)
        master = openpt(O_RDWR | O_NOCTTY)
        guard master >= 0, grantpt(master) == 0, unlockpt(master) == 0 else { throw POSIXError(.ENOTTY) }
        var name = [CChar](repeating: 0, count: 128)
        guard ptsname(master, &name, name.count) == 0 else { throw POSIXError(.ENOTTY) }
        let fd = open(String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self),
                      O_RDWR | O_NOCTTY)
        guard fd >= 0, let file = fdopen(fd, "r+") else { throw POSIXError(.ENOTTY) }
        slave = file
        // Drain what libedit echoes so the terminal never blocks it.
        let master = self.master
        Thread {
            var buffer = [UInt8](repeating: 0, count: 1024)
            while read(master, &buffer, buffer.count) > 0 {}
        }.start()
    }

    /// Types `text` on the terminal after `delay` seconds, from a background thread.
    func type(_ text: String, after delay: Double) {
        let master = self.master
        Thread {
            usleep(UInt32(delay * 1_000_000))
            _ = text.withCString { write(master, $0, strlen($0)) }
        }.start()
    }
}

@Suite struct REPLTerminalTests {
    @Test func editLineReadsCompletesAndCancelsOnCtrlC() throws {
        let terminal = try PseudoTerminal()
        let input = EditLineInput(historyFile: nil, input: terminal.slave, output: terminal.slave)
        let lua = LuaState()
        try lua.run("model = { blocks = 12 }")
        LineCompletion.active = LuaEvaluator(lua: lua)
        Interrupts.install()
        Interrupts.phase = .prompt
        defer {
            Interrupts.phase = .training
            Interrupts.uninstall()
            LineCompletion.active = nil
        }

        terminal.type("1+2\r", after: 0.05)
        #expect(input.readLine(prompt: "ap> ") == "1+2")

        terminal.type("mod\t.bl\t\r", after: 0.05)  // Tab completes against the Lua state
        #expect(input.readLine(prompt: "ap> ") == "model.blocks")

        // Ctrl-C while a line is half typed: readline returns and the signal is counted,
        // which is how the REPL knows to drop the line.
        let before = Interrupts.signalCount
        terminal.type("abc", after: 0.05)
        let me = pthread_self()
        Thread {
            usleep(200_000)
            pthread_kill(me, SIGINT)
        }.start()
        _ = input.readLine(prompt: "ap> ")
        #expect(Interrupts.signalCount == before + 1)

        terminal.type("x\r", after: 0.05)
        #expect(input.readLine(prompt: "ap> ") == "x")  // a fresh line, nothing left of "abc"
    }
}
