import CLua
import CLuaBridge
import Foundation

/// What one REPL input did.
public enum EvaluationResult: Equatable, Sendable {
    /// The input ran: what it printed (unless streamed to `onPrint`) followed by its
    /// auto-printed results, one line per input; "" when there was nothing to show.
    case output(String)
    /// The input is an unfinished statement (`for i = 1, 3 do`): read another line.
    case incomplete
    /// Compiling or running failed: `message` is Lua's `where: what` plus the traceback;
    /// `output` is what the input printed before failing.
    case error(message: String, output: String)

    /// The text a terminal shows for this result (`error: …` for failures).
    public var displayText: String {
        switch self {
        case .output(let text): return text
        case .incomplete: return ""
        case .error(let message, let output): return output + "error: " + message + "\n"
        }
    }
}

/// A request made by the evaluated code through `continue()`, `stop()` or `exit()`.
public enum ControlRequest: Equatable, Sendable {
    case `continue`
    case stop
}

/// Evaluates REPL input in a Lua state: the one evaluation path shared by the terminal
/// REPL and `autoprog-run attach`, so both behave identically.
///
/// Each input is first compiled as `return <input>` (an expression: every result is printed
/// with `tostring`, so userdata use `__tostring`; a lone nil prints nothing), else as a
/// statement (an explicit `return` prints all its results, nil included). While the input
/// runs, the global `print` is replaced by one that writes into this evaluator (restored
/// afterwards), and a Lua count hook turns a Ctrl-C (see `Interrupts`) into an
/// `interrupted` error. The globals `continue()`, `stop()`, `exit()` and `help([x])` are
/// installed into the state; the first three are reported by `takeControlRequest()`.
public final class LuaEvaluator {
    public let lua: LuaState
    /// Receives `print` output as it happens (the terminal REPL streams); when nil, the
    /// output is collected into the `EvaluationResult` (attach replies).
    public var onPrint: ((String) -> Void)?

    private let supportRef: Int32
    private let emitRef: Int32
    private let id: Int
    private var collected = ""
    private var pendingControl: ControlRequest?

    public init(lua: LuaState) {
        self.lua = lua
        let L = lua.L
        id = EvaluatorRegistry.register()
        let top = lua_gettop(L)
        defer { lua_settop(L, top) }
        // One support table per state: evaluators of the same state share the globals.
        if lua_getfield(L, luaRegistryIndex, EvaluatorSupport.registryKey) != LUA_TTABLE {
            lua_settop(L, top)
            let loaded = EvaluatorSupport.source.withCString { s in
                luaL_loadbufferx(L, s, strlen(s), "=(repl)", "t")
            }
            guard loaded == LUA_OK else { preconditionFailure("REPL support chunk: \(Self.popMessage(L))") }
            ap_lua_push_swift_function(L, luaInterruptPending, nil)
            guard ap_lua_pcall_traceback(L, 1, 1) == LUA_OK else {
                preconditionFailure("REPL support chunk: \(Self.popMessage(L))")
            }
            lua_pushvalue(L, -1)
            lua_setfield(L, luaRegistryIndex, EvaluatorSupport.registryKey)
        }
        supportRef = luaL_ref(L, luaRegistryIndex)
        ap_lua_push_swift_function(L, luaEmit, UnsafeMutableRawPointer(bitPattern: id))
        emitRef = luaL_ref(L, luaRegistryIndex)
        EvaluatorRegistry.set(self, for: id)
    }

    deinit {
        EvaluatorRegistry.remove(id)
        luaL_unref(lua.L, luaRegistryIndex, supportRef)
        luaL_unref(lua.L, luaRegistryIndex, emitRef)
    }

    /// Compiles and runs one input (possibly several lines joined with "\n").
    public func evaluate(_ chunk: String) -> EvaluationResult {
        let L = lua.L
        let top = lua_gettop(L)
        defer { lua_settop(L, top) }
        collected = ""
        _ = Interrupts.takeEvaluationInterrupt()  // a Ctrl-C that arrived after the last input ended
        var expression = true
        if Self.load(L, "return " + chunk) != LUA_OK {
            ap_lua_pop(L, 1)
            expression = false
            if Self.load(L, chunk) != LUA_OK {
                let message = Self.popMessage(L)
                return message.hasSuffix("<eof>") ? .incomplete : .error(message: message, output: "")
            }
        }
        // Stack: fn. Call M.run(fn, expression, emit).
        lua_rawgeti(L, luaRegistryIndex, lua_Integer(supportRef))
        lua_getfield(L, -1, "run")
        lua_rotate(L, -3, 1)  // run, fn, M
        ap_lua_pop(L, 1)      // run, fn
        lua_pushboolean(L, expression ? 1 : 0)
        lua_rawgeti(L, luaRegistryIndex, lua_Integer(emitRef))
        let status = ap_lua_pcall_traceback(L, 3, 3)
        let printed = collected
        collected = ""
        guard status == LUA_OK else {
            return .error(message: Self.string(L, -1) ?? "(error in the REPL support code)", output: printed)
        }
        switch Self.string(L, -1) {
        case "continue": pendingControl = .continue
        case "stop": pendingControl = .stop
        default: break
        }
        let text = Self.string(L, -2)
        guard lua_toboolean(L, -3) != 0 else {
            return .error(message: text ?? "(error object is not a string)", output: printed)
        }
        return .output(printed + (text.map { $0 + "\n" } ?? ""))
    }

    /// The `continue()`/`stop()`/`exit()` made by the inputs evaluated since the last call.
    public func takeControlRequest() -> ControlRequest? {
        defer { pendingControl = nil }
        return pendingControl
    }

    /// Records the names of the live objects the caller bound as globals, for `help()`.
    public func bindGlobals(_ names: [String]) {
        _ = callSupport("setBound", names)
    }

    /// The text `help(...)` prints: with no name the guide, else help for the global `name`.
    public func helpText(for name: String? = nil) -> String {
        guard let name else { return callSupport("help", []) ?? "" }
        return callSupport("helpGlobal", [name]) ?? ""
    }

    /// Tab completions of `text` (`pri`, `model.bl`, `t:si`) against the live Lua state.
    public func completions(for text: String) -> [String] {
        guard let joined = callSupport("complete", [text]), !joined.isEmpty else { return [] }
        return joined.split(separator: "\n").map(String.init)
    }

    /// Whether `chunk` is an unfinished statement, compiled (never run) in any state: the
    /// attach client checks this locally before sending.
    public static func isIncomplete(_ chunk: String, in lua: LuaState) -> Bool {
        let L = lua.L
        let top = lua_gettop(L)
        defer { lua_settop(L, top) }
        if load(L, "return " + chunk) == LUA_OK { return false }
        ap_lua_pop(L, 1)
        if load(L, chunk) == LUA_OK { return false }
        return popMessage(L).hasSuffix("<eof>")
    }

    fileprivate func emit(_ text: String) {
        if let onPrint { onPrint(text) } else { collected += text }
    }

    /// Calls `M.name(arguments...)` and returns its string result. Pushing the argument
    /// strings can only fail on memory exhaustion, as in lua.c.
    private func callSupport(_ name: String, _ arguments: [String]) -> String? {
        let L = lua.L
        let base = lua_gettop(L)
        defer { lua_settop(L, base) }
        lua_rawgeti(L, luaRegistryIndex, lua_Integer(supportRef))
        lua_getfield(L, -1, name)  // M is a plain table: no metamethods
        lua_rotate(L, -2, 1)
        ap_lua_pop(L, 1)
        for argument in arguments {
            argument.withCString { p in _ = lua_pushlstring(L, p, strlen(p)) }
        }
        guard ap_lua_pcall_traceback(L, Int32(arguments.count), 1) == LUA_OK else { return nil }
        return Self.string(L, -1)
    }

    private static func load(_ L: OpaquePointer, _ source: String) -> Int32 {
        var bytes = Array(source.utf8)
        return bytes.withUnsafeMutableBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) { p in
                luaL_loadbufferx(L, p, buffer.count, "=repl", "t")
            }
        }
    }

    /// The string at `index`, or nil if it is not a string (never converts numbers in place).
    static func string(_ L: OpaquePointer, _ index: Int32) -> String? {
        guard lua_type(L, index) == LUA_TSTRING else { return nil }
        var length = 0
        guard let p = lua_tolstring(L, index, &length) else { return nil }
        return String(decoding: UnsafeRawBufferPointer(start: p, count: length), as: UTF8.self)
    }

    private static func popMessage(_ L: OpaquePointer) -> String {
        defer { ap_lua_pop(L, 1) }
        return string(L, -1) ?? "(error object is not a string)"
    }
}

/// Maps the integer context of the Lua `emit` function to its evaluator, so a `print`
/// captured by user code and called after the evaluator is gone finds nothing instead of
/// a dangling pointer. Only touched from the thread that runs the Lua state.
private enum EvaluatorRegistry {
    private struct Entry { weak var evaluator: LuaEvaluator? }
    nonisolated(unsafe) private static var entries: [Int: Entry] = [:]
    nonisolated(unsafe) private static var nextID = 1

    static func register() -> Int {
        defer { nextID += 1 }
        return nextID
    }
    static func set(_ evaluator: LuaEvaluator, for id: Int) { entries[id] = Entry(evaluator: evaluator) }
    static func remove(_ id: Int) { entries[id] = nil }
    static func lookup(_ id: Int) -> LuaEvaluator? { entries[id]?.evaluator }
}

/// `emit(text)`: the REPL's print sink. Never raises.
private let luaEmit: ap_swift_function = { L, context in
    guard let L, let text = LuaEvaluator.string(L, 1) else { return 0 }
    EvaluatorRegistry.lookup(Int(bitPattern: context))?.emit(text)
    return 0
}

/// `interrupted()`: true once per Ctrl-C pressed while an evaluation runs.
private let luaInterruptPending: ap_swift_function = { L, _ in
    guard let L else { return 0 }
    lua_pushboolean(L, Interrupts.takeEvaluationInterrupt() ? 1 : 0)
    return 1
}

/// `LUA_REGISTRYINDEX` (`-LUAI_MAXSTACK - 1000` with 32-bit ints), a macro Swift cannot import.
let luaRegistryIndex: Int32 = -1_000_000 - 1000
