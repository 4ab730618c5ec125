import ArgumentParser
import AutoProg
import AutoProgLua
import Foundation

/// The recipe runner. The full runner (options, training loop, REPL, attach) is issue 3;
/// this entry point runs a Lua file in the embedded VM.
struct AutoprogRun: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "autoprog-run",
        abstract: "Run an autoprog recipe (a Lua 5.4 script).",
        version: "autoprog \(AutoProgInfo.version) (\(LuaState.version))")

    @Argument(help: "The recipe to run.")
    var recipe: String

    func run() throws {
        guard let source = FileManager.default.contents(atPath: recipe).flatMap({ String(data: $0, encoding: .utf8) }) else {
            throw ValidationError("cannot read recipe '\(recipe)'")
        }
        do {
            try LuaState().run(source, chunkName: "@" + recipe)
        } catch let e as LuaState.LuaError {
            FileHandle.standardError.write(Data("autoprog-run: \(e.message)\n".utf8))
            throw ExitCode.failure
        }
    }
}

AutoprogRun.main()
