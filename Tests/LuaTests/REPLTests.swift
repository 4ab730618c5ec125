import Foundation
import Testing
@testable import AutoProgLua

/// A scripted session: runs `lines` through a REPL and returns its outcome and transcript.
private func session(_ lines: [String], lua: LuaState = LuaState(), setUp: (REPL) -> Void = { _ in })
    -> (outcome: REPL.Outcome, output: String, input: ScriptedLineInput)
{
    let input = ScriptedLineInput(lines)
    var output = ""
    let repl = REPL(lua: lua, input: input, output: { output += $0 })
    repl.banner = nil
    setUp(repl)
    let outcome = repl.run()
    return (outcome, output, input)
}

@Suite struct REPLTests {
    @Test func expressionsAutoPrint() {
        let (outcome, output, _) = session(["1+2", "'a', 2, nil", "nil", "return nil"])
        #expect(outcome == .continued)  // end of input continues the run
        #expect(output == "3\na\t2\tnil\nnil\n\n")  // a lone nil result prints only when returned explicitly
    }

    @Test func globalsPersistBetweenInputs() {
        let (_, output, _) = session(["x = 5", "x", "x * 2"])
        #expect(output == "5\n10\n\n")
    }

    @Test func multiLineInputUsesTheContinuationPrompt() {
        let (_, output, input) = session(["s = 0", "for i = 1, 4 do", "  s = s + i", "end", "s"])
        #expect(output == "10\n\n")
        #expect(input.prompts == ["ap> ", "ap> ", "..> ", "..> ", "ap> ", "ap> "])
    }

    @Test func printIsCapturedAndRestored() throws {
        let lua = LuaState()
        try lua.run("original_print = print")
        let (_, output, _) = session(["print('hi', 1, nil)", "print == nil"], lua: lua)
        #expect(output == "hi\t1\tnil\nfalse\n\n")
        // After each input the state's own print (the runner's capture) is back in place.
        #expect(try lua.run("return tostring(print == original_print)") == "true")
    }

    @Test func errorsDoNotEndTheSession() {
        let (outcome, output, _) = session(["print('before'); error('boom')", "1 +", "x.y = 1", "7"])
        #expect(outcome == .continued)
        #expect(output.contains("before\nerror: repl:1: boom\nstack traceback:"))
        #expect(output.contains("error: repl:1: attempt to index a nil value (global 'x')"))
        #expect(!output.contains("xpcall"))  // the REPL's own frames are cut from tracebacks
        #expect(output.hasSuffix("7\n\n"))
    }

    @Test func syntaxErrorsAreNotMistakenForUnfinishedInput() {
        let (_, output, input) = session(["x = = 1", "2"])
        #expect(output.hasPrefix("error: repl:1: unexpected symbol near '='"))
        #expect(input.prompts == ["ap> ", "ap> ", "ap> "])
    }

    @Test func continueAndStopEndTheSession() {
        let continued = session(["1", "continue()", "2"])
        #expect(continued.outcome == .continued)
        #expect(continued.output == "1\n")  // nothing after continue() ran
        #expect(session(["stop()", "2"]).outcome == .stopRequested)
        #expect(session(["exit()"]).outcome == .stopRequested)
    }

    @Test func helpListsTheKeysOfATable() throws {
        let lua = LuaState()
        try lua.run("x = { lr = 0.1, step = function() end, name = 'vit' }")
        let (_, output, _) = session(["help(x)"], lua: lua)
        #expect(output.contains("table with 3 keys:"))
        #expect(output.contains("lr") && output.contains("number"))
        #expect(output.contains("step") && output.contains("function"))
        #expect(output.contains("name") && output.contains("string"))
    }

    @Test func helpDescribesUserdataMethodsWithDocs() throws {
        let lua = LuaState()
        // A userdata with a Tensor metatable, as the bindings create: io.tmpfile() given a
        // new metatable through the debug library.
        try lua.run("""
            local T = { __name = "Tensor", __index = { size = function() end, view = function() end } }
            T.__tostring = function() return "Tensor 2x3 float32" end
            t = io.tmpfile(); debug.setmetatable(t, T)
            __doc = { ["Tensor:size"] = "the shape as a table" }
            """)
        let (_, output, _) = session(["help(t)", "t"], lua: lua)
        #expect(output.contains("Tensor: Tensor 2x3 float32"))
        #expect(output.contains(":size") && output.contains("the shape as a table"))
        #expect(output.contains(":view"))
        #expect(output.hasSuffix("Tensor 2x3 float32\n\n"))  // auto-print uses __tostring
    }

    @Test func helpWithoutArgumentsShowsTheGuideAndLiveObjects() throws {
        let lua = LuaState()
        try lua.run("model = { depth = 12 }")
        let (_, output, _) = session(["help()"], lua: lua) { $0.bindGlobals(["model"]) }
        #expect(output.contains("continue()"))
        #expect(output.contains("Live objects:"))
        #expect(output.contains("model") && output.contains("table"))
    }

    @Test func helpShowsRegisteredFunctionDocs() throws {
        let lua = LuaState()
        try lua.run("function lr() end; __doc = { lr = 'the current learning rate' }")
        let (_, output, _) = session(["help(lr)"], lua: lua)
        #expect(output == "lr: the current learning rate\n\n")
    }

    @Test func completionWalksTablesAndMetatables() throws {
        let lua = LuaState()
        try lua.run("""
            model = { blocks = { attn = 1, mlp = 2 }, block_count = 2 }
            obj = setmetatable({}, { __index = { forward = function() end, depth = 3 } })
            """)
        let evaluator = LuaEvaluator(lua: lua)
        #expect(evaluator.completions(for: "model.bl") == ["model.block_count", "model.blocks"])
        #expect(evaluator.completions(for: "model.blocks.") == ["model.blocks.attn", "model.blocks.mlp"])
        #expect(evaluator.completions(for: "obj:") == ["obj:forward"])  // methods only after ':'
        #expect(evaluator.completions(for: "mod").contains("model"))
        #expect(evaluator.completions(for: "whi") == ["while"])
        #expect(evaluator.completions(for: "nothing.x").isEmpty)
    }

    @Test func evaluatorReportsIncompleteInputAndCollectsOutput() {
        let lua = LuaState()
        let evaluator = LuaEvaluator(lua: lua)
        #expect(evaluator.evaluate("function f()") == .incomplete)
        #expect(evaluator.evaluate("print(1) return 2, 3") == .output("1\n2\t3\n"))
        #expect(LuaEvaluator.isIncomplete("if x then", in: lua))
        #expect(!LuaEvaluator.isIncomplete("if x then end", in: lua))
        #expect(!LuaEvaluator.isIncomplete("x = = 1", in: lua))
    }

    @Test func plainLineInputSplitsLines() throws {
        let pipe = Pipe()
        pipe.fileHandleForWriting.write(Data("1+1\r\nx = 2\nlast".utf8))
        try pipe.fileHandleForWriting.close()
        let input = PlainLineInput(handle: pipe.fileHandleForReading)
        #expect(input.readLine(prompt: "ap> ") == "1+1")
        #expect(input.readLine(prompt: "ap> ") == "x = 2")
        #expect(input.readLine(prompt: "ap> ") == "last")
        #expect(input.readLine(prompt: "ap> ") == nil)
    }
}
