import ArgumentParser
import AutoProg
import AutoProgLua
import Foundation

/// autoprog-run: runs a recipe (a Lua 5.4 file) in the embedded VM with the engine bound
/// as `ap`, writing a run directory (config, metrics, TensorBoard events, checkpoints,
/// samples, notebook). Ctrl-C pauses training into a REPL; `attach` reaches a running job.
struct AutoprogRun: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "autoprog-run",
        abstract: "Run an autoprog recipe (a Lua 5.4 script), or a REPL.",
        discussion: """
            Recipe options are passed as --key=value after the recipe; `autoprog-run RECIPE.lua --help` \
            lists them. Ctrl-C during training pauses at the next step boundary and opens a REPL \
            (continue() resumes, stop() checkpoints and exits).
            """,
        version: "autoprog \(AutoProgInfo.version) (\(LuaState.version))",
        subcommands: [Run.self, Attach.self],
        defaultSubcommand: Run.self)
}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Run a recipe (the default).")

    @Flag(name: .customShort("i"), help: "Open a REPL (after the recipe, if one is given).")
    var interactive = false

    @Option(help: "Resume from a checkpoint: 'latest' (this recipe's newest run) or a checkpoint file or run directory.")
    var resume: String?

    @Option(help: "Where run directories are created.")
    var runs = "runs"

    @Argument(help: "The recipe to run.")
    var recipe: String?

    @Argument(parsing: .allUnrecognized, help: "Recipe options: --key=value, --flag, --no-flag.")
    var recipeArguments: [String] = []

    func run() throws {
        let lua = LuaState()
        guard let recipe else {
            guard interactive else { throw ValidationError("give a recipe to run, or -i for a REPL") }
            runREPL(lua)
            return
        }
        do {
            lua.optionOverrides = try RecipeOptions.parseOverrides(recipeArguments)
        } catch {
            throw fail("\(error)", code: 2)
        }
        if RecipeHelp.requested {
            lua.helpRequested = true
            do {
                try lua.runFile(recipe, arguments: recipeArguments)
                print("\(recipe) declares no options (ap.options{...}).")
            } catch let help as RecipeOptions.HelpRequested {
                print("usage: autoprog-run \(recipe) [--key=value ...]\n\noptions:\n\(help.description)")
            } catch {
                throw fail("\(error)", code: 1)
            }
            return
        }
        let session: RecipeSession
        do {
            session = try RecipeSession(recipePath: recipe, arguments: recipeArguments,
                                        runsRoot: URL(fileURLWithPath: runs), resume: resume)
            try session.start(in: lua) { FileHandle.standardOutput.write(Data($0.utf8)) }
        } catch {
            throw fail("\(error)", code: 1)
        }
        stderr("run directory: \(session.run.url.path)\n")
        var failure: Error?
        do {
            try lua.runFile(recipe, arguments: recipeArguments)
        } catch let e as LuaState.LuaError {
            session.recordError(e, lua: lua)
            stderr("autoprog-run: \(e.traceback)\n")
            failure = e
        } catch {
            stderr("autoprog-run: \(error)\n")
            failure = error
        }
        do {
            try session.writeConfig(options: lua.resolvedOptions)
            try session.finish()
        } catch {
            stderr("autoprog-run: could not finish the run directory: \(error)\n")
            failure = failure ?? error
        }
        if failure != nil { throw ExitCode.failure }
        if interactive { runREPL(lua) }
    }

    private func runREPL(_ lua: LuaState) {
        let repl = REPL(lua: lua, input: standardLineInput()) { FileHandle.standardOutput.write(Data($0.utf8)) }
        repl.banner = "autoprog \(AutoProgInfo.version) REPL (\(LuaState.version)); help() for a guide, exit() or Ctrl-D to leave"
        _ = repl.run()
    }

    private func fail(_ message: String, code: Int32) -> ExitCode {
        stderr("autoprog-run: \(message)\n")
        return ExitCode(code)
    }
}

struct Attach: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Attach a REPL to a running job (its run directory); commands run at step boundaries.")

    @Argument(help: "The run directory of a running job.")
    var runDirectory: String

    func run() throws {
        do {
            let client = try AttachClient(runDirectory: URL(fileURLWithPath: runDirectory))
            client.interactive(input: standardLineInput()) { FileHandle.standardOutput.write(Data($0.utf8)) }
        } catch {
            stderr("autoprog-run attach: \(error)\n")
            throw ExitCode.failure
        }
    }
}

func stderr(_ text: String) { FileHandle.standardError.write(Data(text.utf8)) }

/// `autoprog-run RECIPE.lua --help` lists the recipe's options, not the runner's: the
/// flag is taken out before argument parsing when it follows a recipe.
enum RecipeHelp {
    nonisolated(unsafe) static var requested = false

    static func extract(_ arguments: [String]) -> [String] {
        guard let recipeIndex = arguments.firstIndex(where: { $0.hasSuffix(".lua") }) else { return arguments }
        var out = Array(arguments[...recipeIndex])
        for a in arguments[(recipeIndex + 1)...] {
            if a == "--help" || a == "-h" { requested = true } else { out.append(a) }
        }
        return out
    }
}

AutoprogRun.main(RecipeHelp.extract(Array(CommandLine.arguments.dropFirst())))
