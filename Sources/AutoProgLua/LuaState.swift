import AutoProg
import CLua
import CLuaBridge
import Foundation

/// An embedded Lua 5.4 interpreter with the standard libraries and the autoprog
/// bindings (`require "autoprog"`, also the global `ap`).
///
/// Errors never `longjmp` across Swift frames: chunks run under `lua_pcall`, bindings
/// return a status that a C trampoline turns into a Lua error after the Swift frame has
/// returned, and errors come back to Swift as `LuaError` with Lua's `file:line: message`
/// and the traceback taken where the error happened (inside callbacks too).
///
/// Everything a recipe prints (`print`, `io.write` to standard output) goes to `output`.
public final class LuaState {
    public let L: OpaquePointer

    /// A Lua error: `message` is Lua's `file:line: message`; `traceback` adds the stack.
    public struct LuaError: Error, CustomStringConvertible {
        public let message: String
        public let traceback: String

        public init(message: String, traceback: String? = nil) {
            self.message = message
            self.traceback = traceback ?? message
        }

        public var description: String { message }
    }

    /// Receives everything the recipe prints to standard output (default: stdout).
    public var output: (String) -> Void = { text in FileHandle.standardOutput.write(Data(text.utf8)) }

    /// Command-line option overrides (`RecipeOptions.parseOverrides`) consumed by `ap.options`.
    public var optionOverrides: [String: String] = [:]
    /// When set, `ap.options` stops the recipe once it has declared its options: the run
    /// throws `RecipeOptions.HelpRequested` carrying them (for `autoprog-run recipe --help`).
    public var helpRequested = false
    /// Called with the declared options (defaults) each time `ap.options` runs.
    public var optionsDeclared: (([RecipeOptions.Option]) -> Void)?
    /// The options `ap.options` resolved (defaults with overrides applied), for config.json.
    public internal(set) var resolvedOptions: [RecipeOptions.Option]?
    /// The recipe run this state executes (run directory, notebook, console), when run by
    /// `autoprog-run`; nil in a bare state, where `ap.train` trains without writing a run.
    public var session: RecipeSession?

    /// One-line documentation by path (`ap.zeros`, `Tensor:view`, `ap.nn.Linear`).
    var documentation: [String: String] = [:]
    /// Method names by host type (`Tensor`, `Module`, ...).
    var methodLists: [String: [String]] = [:]
    /// Boxes of the Swift closures Lua can call; they live as long as the state.
    var retainedBoxes: [AnyObject] = []
    /// Bytes of tensors created since the collector was last told about them.
    var pendingExternalBytes = 0
    /// Storage of `onImageSaved` (ImageBinding.swift).
    var imageSavedHook: ((URL, Data) -> Void)?

    /// The light-userdata error value that stops a recipe for `--help`.
    nonisolated(unsafe) static let helpSentinel = UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 1)

    public init() {
        L = luaL_newstate()
        luaL_openlibs(L)
        installBindings()
    }

    deinit { lua_close(L) }

    public static var version: String { String(cString: ap_lua_release()) }

    // MARK: Running code

    /// Runs a chunk of Lua source; returns its first result converted to a string (nil if none).
    @discardableResult
    public func run(_ source: String, chunkName: String = "=(string)") throws -> String? {
        let top = lua_gettop(L)
        defer { lua_settop(L, top) }
        let loaded = source.withCString { s in luaL_loadbufferx(L, s, strlen(s), chunkName, nil) }
        guard loaded == LUA_OK else { throw LuaError(message: popString()) }
        try call(arguments: 0, results: 1)
        if lua_type(L, -1) == LUA_TNIL { return nil }
        return try stringify(-1)
    }

    /// Runs a recipe file with `arguments` as its `...` and in the global `arg`
    /// (arg[0] = the path, as the standalone interpreter does).
    public func runFile(_ path: String, arguments: [String] = []) throws {
        let top = lua_gettop(L)
        defer { lua_settop(L, top) }
        guard luaL_loadfilex(L, path, nil) == LUA_OK else { throw LuaError(message: popString()) }
        lua_createtable(L, Int32(arguments.count), 1)
        lua_pushstring(L, path)
        lua_rawseti(L, -2, 0)
        for (i, a) in arguments.enumerated() {
            lua_pushstring(L, a)
            lua_rawseti(L, -2, lua_Integer(i + 1))
        }
        setGlobal("arg")
        for a in arguments { lua_pushstring(L, a) }
        try call(arguments: Int32(arguments.count), results: 0)
    }

    /// Evaluates one REPL line: as an expression (`return <line>`) if it parses as one,
    /// else as a statement. Returns the results converted with `tostring` (userdata via
    /// `__tostring`); the caller prints them.
    public func evaluate(_ line: String, chunkName: String = "=stdin") throws -> [String] {
        let top = lua_gettop(L)
        defer { lua_settop(L, top) }
        let expression = "return " + line
        var loaded = expression.withCString { s in luaL_loadbufferx(L, s, strlen(s), chunkName, nil) }
        if loaded != LUA_OK {
            lua_settop(L, top)
            loaded = line.withCString { s in luaL_loadbufferx(L, s, strlen(s), chunkName, nil) }
            guard loaded == LUA_OK else { throw LuaError(message: popString()) }
        }
        try call(arguments: 0, results: LUA_MULTRET)
        var results: [String] = []
        let n = lua_gettop(L)
        if n > top {
            for i in (top + 1)...n { results.append(try stringify(i)) }
        }
        return results
    }

    /// Calls the function below `arguments` values, converting an error into `LuaError`
    /// (or `RecipeOptions.HelpRequested` for the --help stop).
    func call(arguments: Int32, results: Int32) throws {
        ap_lua_clear_recorded_error(L)
        guard ap_lua_pcall_recorded(L, arguments, results) == LUA_OK else { throw takeError() }
    }

    /// Pops the error object of a failed call and converts it.
    private func takeError() -> Error {
        if lua_type(L, -1) == LUA_TLIGHTUSERDATA, lua_touserdata(L, -1) == LuaState.helpSentinel {
            lua_settop(L, -2)
            return RecipeOptions.HelpRequested(options: resolvedOptionsForHelp ?? [])
        }
        let message: String
        if lua_type(L, -1) == LUA_TSTRING || lua_type(L, -1) == LUA_TNUMBER {
            message = String(cString: lua_tolstring(L, -1, nil))
        } else {
            message = "(error object is a \(LuaCall.typeName(L, -1)) value)"
        }
        lua_settop(L, -2)
        ap_lua_push_recorded_traceback(L)
        let traceback = lua_type(L, -1) == LUA_TSTRING ? String(cString: lua_tolstring(L, -1, nil)) : nil
        lua_settop(L, -2)
        ap_lua_clear_recorded_error(L)
        return LuaError(message: message, traceback: traceback)
    }

    /// The declared options at the moment `ap.options` stopped for --help.
    var resolvedOptionsForHelp: [RecipeOptions.Option]?

    /// `tostring(value at i)`, run protected so a failing `__tostring` becomes a LuaError.
    private func stringify(_ i: Int32) throws -> String {
        switch lua_type(L, i) {
        case LUA_TSTRING, LUA_TNUMBER:
            lua_pushvalue(L, i)
            defer { lua_settop(L, -2) }
            return String(cString: lua_tolstring(L, -1, nil))
        case LUA_TNIL: return "nil"
        case LUA_TBOOLEAN: return lua_toboolean(L, i) != 0 ? "true" : "false"
        default:
            let value = lua_absindex(L, i)
            lua_getfield(L, ap_lua_registry_index(), "autoprog.tostring")
            lua_pushvalue(L, value)
            try call(arguments: 1, results: 1)
            defer { lua_settop(L, -2) }
            return lua_type(L, -1) == LUA_TSTRING ? String(cString: lua_tolstring(L, -1, nil)) : "?"
        }
    }

    private func popString() -> String {
        let s = lua_type(L, -1) == LUA_TSTRING ? String(cString: lua_tolstring(L, -1, nil)) : "(error object is not a string)"
        lua_settop(L, -2)
        return s
    }

    /// Pops the top value into global `name` (raw: the globals table may have a metatable).
    func setGlobal(_ name: String) {
        lua_rawgeti(L, ap_lua_registry_index(), lua_Integer(LUA_RIDX_GLOBALS))
        lua_pushstring(L, name)
        lua_rotate(L, -3, -1)  // globals, name, value
        lua_rawset(L, -3)
        lua_settop(L, -2)
    }

    /// Runs Lua source during set-up (the bindings' Lua parts); a failure is a bug.
    func runSetup(_ source: String, arguments: Int32 = 0, results: Int32 = 0) {
        let status = source.withCString { s in luaL_loadbufferx(L, s, strlen(s), "=autoprog", nil) }
        guard status == LUA_OK else { fatalError("autoprog: Lua set-up code does not compile: \(popString())") }
        if arguments > 0 { lua_rotate(L, -(arguments + 1), 1) }
        guard ap_lua_pcall(L, arguments, results, 0) == LUA_OK else {
            fatalError("autoprog: Lua set-up code failed: \(popString())")
        }
    }

    // MARK: Documentation

    /// The one-line documentation of a binding: `ap.zeros`, `ap.nn.Linear`, `Tensor:view`
    /// (also `Tensor.view`), or a host type (`Tensor`) for its summary.
    public func documentation(for path: String) -> String? {
        if let d = documentation[path] { return d }
        if let d = documentation[path.replacingOccurrences(of: ".", with: ":")] { return d }
        if let colon = path.lastIndex(of: ":") {
            return documentation[path[..<colon] + "." + path[path.index(after: colon)...]]
        }
        if path.hasPrefix("autoprog.") { return documentation(for: "ap." + path.dropFirst("autoprog.".count)) }
        return nil
    }

    /// The methods of a host type, by its name (`Tensor`) or metatable name (`autoprog.Tensor`).
    public func methodNames(forTypeName name: String) -> [String] {
        methodLists[name.replacingOccurrences(of: "autoprog.", with: "")] ?? []
    }

    /// Every documented path, sorted.
    public var documentedPaths: [String] { documentation.keys.sorted() }
}
