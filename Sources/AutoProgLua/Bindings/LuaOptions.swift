import AutoProg
import CLua

/// A Lua options table (`{stride = 2, padding = 1}`) read strictly: a key that is not one
/// of `valid` is an error listing the valid keys, so a typo never silently falls back to
/// a default. Values are read raw (no metamethods).
struct LuaOptions {
    let call: LuaCall
    /// Absolute stack index of the table, or nil when the argument was nil/absent.
    let index: Int32?
    let context: String

    init(_ call: LuaCall, _ i: Int32, valid: [String], context: String) throws {
        self.call = call
        self.context = context
        if call.isNoneOrNil(i) {
            index = nil
            return
        }
        try call.table(i)
        index = lua_absindex(call.L, i)
        let unknown = try call.stringKeys(i).filter { !valid.contains($0) }.sorted()
        if !unknown.isEmpty {
            let list = unknown.map { "'\($0)'" }.joined(separator: ", ")
            throw LuaBindingError("\(context): unknown option\(unknown.count > 1 ? "s" : "") \(list) (valid: \(valid.joined(separator: ", ")))")
        }
    }

    /// Pushes the value of `key` and runs `body` with its type; pops it afterwards.
    private func with<R>(_ key: String, _ body: (Int32) throws -> R?) rethrows -> R? {
        guard let index else { return nil }
        let type = call.rawField(index, key)
        defer { lua_settop(call.L, -2) }
        if type == LUA_TNIL { return nil }
        return try body(type)
    }

    private func bad(_ key: String, _ expected: String) -> LuaBindingError {
        LuaBindingError("\(context): option '\(key)' must be \(expected), got \(LuaCall.typeName(call.L, -1))")
    }

    func has(_ key: String) -> Bool { with(key) { _ in true } ?? false }

    func number(_ key: String) throws -> Double? {
        try with(key) { type in
            guard type == LUA_TNUMBER else { throw bad(key, "a number") }
            return lua_tonumberx(call.L, -1, nil)
        }
    }

    func float(_ key: String) throws -> Float? { try number(key).map(Float.init) }

    func integer(_ key: String) throws -> Int? {
        try with(key) { type in
            var ok: Int32 = 0
            let v = lua_tointegerx(call.L, -1, &ok)
            guard type == LUA_TNUMBER, ok != 0 else { throw bad(key, "an integer") }
            return Int(v)
        }
    }

    func boolean(_ key: String) throws -> Bool? {
        try with(key) { type in
            guard type == LUA_TBOOLEAN else { throw bad(key, "a boolean") }
            return lua_toboolean(call.L, -1) != 0
        }
    }

    func string(_ key: String) throws -> String? {
        try with(key) { type in
            guard type == LUA_TSTRING else { throw bad(key, "a string") }
            return String(cString: lua_tolstring(call.L, -1, nil))
        }
    }

    /// A list of numbers (`betas = {0.9, 0.999}`), or one number as a list of one.
    func numbers(_ key: String) throws -> [Double]? {
        try with(key) { type in
            if type == LUA_TNUMBER { return [lua_tonumberx(call.L, -1, nil)] }
            guard type == LUA_TTABLE else { throw bad(key, "a list of numbers") }
            var out: [Double] = []
            try call.forEachElement(ofTable: -1) { _ in
                guard lua_type(call.L, -1) == LUA_TNUMBER else { throw bad(key, "a list of numbers") }
                out.append(lua_tonumberx(call.L, -1, nil))
            }
            return out
        }
    }

    /// A list of strings (`categories = {"food", "nature"}`), or one string as a list of one.
    func strings(_ key: String) throws -> [String]? {
        try with(key) { type in
            if type == LUA_TSTRING { return [String(cString: lua_tolstring(call.L, -1, nil))] }
            guard type == LUA_TTABLE else { throw bad(key, "a list of strings") }
            var out: [String] = []
            try call.forEachElement(ofTable: -1) { _ in
                guard lua_type(call.L, -1) == LUA_TSTRING else { throw bad(key, "a list of strings") }
                out.append(String(cString: lua_tolstring(call.L, -1, nil)))
            }
            return out
        }
    }

    /// Runs `body` with the value of `key` on top of the stack (index -1), if present.
    func value<R>(_ key: String, _ body: (Int32) throws -> R) throws -> R? {
        try with(key) { type in try body(type) }
    }
}
