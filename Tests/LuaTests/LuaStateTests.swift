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
}
