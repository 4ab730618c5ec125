import Foundation
import Testing
@testable import AutoProgLua

@Suite struct LuaStateTests {
    @Test func runsLua54() throws {
        let lua = LuaState()
        #expect(try lua.run("return 1 + 2") == "3")
        #expect(try lua.run("return math.type(3 // 1)") == "integer")  // 5.3+ integer division
    }

    @Test func errorsCarryTheLocation() {
        #expect { try LuaState().run("local x = nil\nreturn x.y", chunkName: "=recipe.lua") } throws: { error in
            "\(error)".hasPrefix("recipe.lua:2:")
        }
    }

    @Test func requireAndGlobalAreTheSameTable() throws {
        let h = LuaHarness()
        try h.run("local m = require 'autoprog'; assert(m == ap); assert(type(ap.version) == 'string'); assert(ap.threads >= 1)")
    }

    @Test func syntaxErrorsNameFileAndLine() throws {
        let h = LuaHarness()
        let e = try #require(h.error("local a = 1\nlocal b = = 2"))
        #expect(e.message.hasPrefix("test.lua:2:"))
        #expect(e.message.contains("unexpected symbol"))
    }

    @Test func swiftErrorsGetTheCallingLineAndATraceback() throws {
        let h = LuaHarness()
        let e = try #require(h.error("local a = ap.zeros(2, 3)\nlocal function f() return a + ap.zeros(4) end\nf()"))
        #expect(e.message.hasPrefix("test.lua:2: add:"))
        #expect(e.message.contains("[2, 3]") && e.message.contains("[4]"))
        #expect(e.traceback.contains("stack traceback"))
        #expect(e.traceback.contains("test.lua:3"))  // the caller of f is on the stack
    }

    @Test func errorsInCallbacksKeepTheirOwnLocationAndTraceback() throws {
        let h = LuaHarness()
        let lua = "local function inner()\n  error('boom')\nend\nap.no_grad(function() inner() end)"
        let e = try #require(h.error(lua))
        #expect(e.message == "test.lua:2: boom")
        #expect(e.traceback.contains("in upvalue 'inner'") || e.traceback.contains("in local 'inner'") || e.traceback.contains("inner"))
        // A Swift error inside a callback: the recipe line of the failing op, not of no_grad.
        let swift = try #require(h.error("ap.no_grad(function()\n  return ap.zeros(2):view(3)\nend)"))
        #expect(swift.message.hasPrefix("test.lua:2: reshape:"))
        #expect(swift.traceback.contains("test.lua:1"))
    }

    @Test func luaCanCatchBindingErrors() throws {
        let h = LuaHarness()
        try h.run("""
            local ok, err = pcall(ap.zeros, 'x')
            assert(not ok and err:find("bad argument #1 to 'ap.zeros' %(dimensions"), err)
            local ok2, err2 = pcall(function() return ap.nn.Linear(2, 'x') end)
            assert(not ok2 and err2:find("test.lua:3: bad argument #2 to 'ap.nn.Linear' %(integer expected, got string%)"), err2)
            local t = ap.zeros(2)
            local ok3, err3 = pcall(function() return t:narrow('a', 1, 1) end)
            assert(not ok3 and err3:find("bad argument #1 to 'narrow'"), err3)
            local ok4, err4 = pcall(function() return ap.zeros(2):item() end)
            assert(not ok4 and err4:find("item: tensor of shape %[2%]"), err4)
            """)
    }

    @Test func printAndWriteGoToTheOutput() throws {
        let h = LuaHarness()
        try h.run("print('a', 1, nil, true); io.write('b', 2, ' ', 2.5, '\\n'); io.stdout:write('c\\n'); print(ap.zeros(2, 3))")
        #expect(h.printed == "a\t1\tnil\ttrue\nb2 2.5\nc\nTensor 2x3 float32 mean=0 std=0 min=0 max=0\n")
        let e = try #require(h.error("io.write({})"))
        #expect(e.message.contains("bad argument #1 to 'write'"))
    }

    @Test func evaluateReturnsExpressionResultsAndRunsStatements() throws {
        let h = LuaHarness()
        #expect(try h.lua.evaluate("1 + 1, 'x', nil") == ["2", "x", "nil"])
        #expect(try h.lua.evaluate("x = ap.ones(2)") == [])
        #expect(try h.lua.evaluate("x") == ["Tensor 2 float32 mean=1 std=0 min=1 max=1"])
        #expect(throws: LuaState.LuaError.self) { try h.lua.evaluate("error('bad')") }
        #expect(throws: LuaState.LuaError.self) { try h.lua.evaluate("setmetatable({}, {__tostring = function() error('no') end})") }
    }

    @Test func runFileSetsArgAndVarargs() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("recipe.lua").path
        try "#!/usr/bin/env autoprog-run\nlocal a, b = ...\nprint(arg[0] == '\(path)', arg[1], a, b)\nlocal t = ap.zeros(2) + ap.zeros(3)\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        let h = LuaHarness()
        #expect { try h.lua.runFile(path, arguments: ["x", "y"]) } throws: { error in
            (error as? LuaState.LuaError)?.message.contains("recipe.lua:4: add:") == true
        }
        #expect(h.printed == "true\tx\tx\ty\n")
    }

    @Test func closedObjectsAndGarbageCollectionReleaseHostObjects() throws {
        let h = LuaHarness()
        try h.run("""
            do local t <close> = ap.ones(3) end
            local t = ap.ones(2)
            local mt = getmetatable(t)
            mt.__close(t)
            assert(tostring(t) == 'Tensor (closed)')
            local ok, err = pcall(function() return t + 1 end)
            assert(not ok and err:find('Tensor was closed'), err)
            """)
    }

    @Test func documentationCoversEveryBinding() throws {
        let h = LuaHarness()
        let lua = h.lua
        #expect(lua.documentation(for: "ap.zeros")?.contains("zeros") == true)
        #expect(lua.documentation(for: "Tensor:view") != nil)
        #expect(lua.documentation(for: "Tensor.view") == lua.documentation(for: "Tensor:view"))
        #expect(lua.documentation(for: "ap.nn.Linear") != nil)
        #expect(lua.methodNames(forTypeName: "Tensor").contains("narrow"))
        #expect(lua.methodNames(forTypeName: "autoprog.Module").contains("state_dict"))
        for type in ["Tensor", "Module", "Optimizer", "Schedule", "EMA"] {
            #expect(!lua.methodNames(forTypeName: type).isEmpty)
            for m in lua.methodNames(forTypeName: type) {
                #expect(lua.documentation(for: "\(type):\(m)")?.isEmpty == false, "\(type):\(m)")
            }
        }
        // Every function in the ap tree has a documentation string.
        try h.run("""
            local function walk(t, path)
              for k, v in pairs(t) do
                local p = path .. '.' .. k
                if type(v) == 'function' then
                  assert(not ap.help(v):find('no documentation'), p)
                  assert(ap.help(v):find(p, 1, true), p)
                elseif type(v) == 'table' then walk(v, p) end
              end
            end
            walk(ap, 'ap')
            assert(ap.help(ap.zeros(1)):find('Tensor:view', 1, true))
            assert(ap.help('ap.nn'):find('ap.nn.Linear', 1, true))
            """)
    }
}
