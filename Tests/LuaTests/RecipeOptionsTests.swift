import Testing
@testable import AutoProgLua

@Suite struct RecipeOptionsTests {
    @Test func parsesOverrides() throws {
        let o = try RecipeOptions.parseOverrides(["--epochs=10", "--fast", "--no-augment", "--label-smoothing=0.1", "--name=a=b", "--epochs=12"])
        #expect(o == ["epochs": "12", "fast": "true", "augment": "false", "label_smoothing": "0.1", "name": "a=b"])
        #expect(throws: RecipeOptions.OptionError.self) { try RecipeOptions.parseOverrides(["epochs=3"]) }
        #expect(throws: RecipeOptions.OptionError.self) { try RecipeOptions.parseOverrides(["--"]) }
        #expect(throws: RecipeOptions.OptionError.self) { try RecipeOptions.parseOverrides(["--a b=1"]) }
    }

    @Test func resolvesAgainstTheDefaultsTypes() throws {
        let defaults: [(String, RecipeOptions.Value)] = [("epochs", .integer(100)), ("lr", .number(1e-3)), ("fast", .boolean(false)),
                                                         ("schedule", .string("autoprog"))]
        let r = try RecipeOptions.resolve(defaults, overrides: ["epochs": "10", "lr": "0.5", "fast": "yes", "schedule": "prog"])
        #expect(r.map(\.name) == ["epochs", "fast", "lr", "schedule"])
        #expect(r.map(\.value) == [.integer(10), .boolean(true), .number(0.5), .string("prog")])
        #expect(try RecipeOptions.resolve(defaults, overrides: ["epochs": "1e2"])[0].value == .integer(100))
        #expect { try RecipeOptions.resolve(defaults, overrides: ["epochs": "1.5"]) } throws: { error in
            "\(error)".hasPrefix("option --epochs=1.5 is not a valid integer\nrecipe options (ap.options):\n  --epochs    integer, default 100")
        }
        #expect { try RecipeOptions.resolve(defaults, overrides: ["fast": "maybe"]) } throws: { "\($0)".contains("not a valid boolean") }
        #expect { try RecipeOptions.resolve(defaults, overrides: ["lr": "x"]) } throws: { "\($0)".contains("not a valid number") }
        #expect { try RecipeOptions.resolve(defaults, overrides: ["epoch": "3"]) } throws: { error in
            let s = "\(error)"
            return s.hasPrefix("unknown option --epoch\n") && s.contains("--schedule  string, default autoprog") && s.contains("--lr        number, default 0.001")
        }
    }

    @Test func apOptionsAppliesOverrides() throws {
        let h = LuaHarness()
        h.lua.optionOverrides = try RecipeOptions.parseOverrides(["--epochs=10", "--fast"])
        var declared: [RecipeOptions.Option] = []
        h.lua.optionsDeclared = { declared = $0 }
        try h.run("""
            local opts = ap.options{ epochs = 100, batch = 128, schedule = 'autoprog', seed = 0, fast = false, lr = 1e-3 }
            assert(opts.epochs == 10 and math.type(opts.epochs) == 'integer' and opts.batch == 128)
            assert(opts.fast == true and opts.schedule == 'autoprog' and opts.lr == 1e-3)
            """)
        #expect(declared.map(\.name) == ["batch", "epochs", "fast", "lr", "schedule", "seed"])
        #expect(h.lua.resolvedOptions?.first { $0.name == "epochs" }?.value == .integer(10))
        h.lua.optionOverrides = ["epoch": "3"]
        let e = try #require(h.error("local o = ap.options{epochs = 1}"))
        #expect(e.message.hasPrefix("test.lua:1: unknown option --epoch\nrecipe options (ap.options):\n  --epochs  integer, default 1"))
        #expect(h.error("ap.options{f = function() end}")?.message.contains("default of 'f' is a function") == true)
    }

    @Test func helpStopsTheRecipeAtItsOptions() throws {
        let h = LuaHarness()
        h.lua.helpRequested = true
        #expect {
            try h.run("print('before')\nlocal opts = ap.options{ epochs = 100, fast = false }\nprint('after')")
        } throws: { error in
            guard let help = error as? RecipeOptions.HelpRequested else { return false }
            return help.options.map(\.name) == ["epochs", "fast"]
                && help.description == "recipe options (ap.options):\n  --epochs  integer, default 100\n  --fast    boolean, default false"
        }
        #expect(h.printed == "before\n")
    }
}
