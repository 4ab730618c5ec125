import AutoProg
import CLua
import CLuaBridge

/// One call from Lua into a Swift binding: typed access to the arguments and pushing of
/// results, using only Lua API calls that cannot raise (memory errors aside).
///
/// Argument problems throw `LuaArgumentError`; the dispatcher turns every Swift error
/// into a Lua error raised by the C trampoline after the Swift frame has returned, with
/// the calling recipe line prefixed (`recipe.lua:12: view: ...`).
struct LuaCall {
    /// The running thread (a coroutine's, not necessarily the main state's).
    let L: OpaquePointer
    /// Not retained: finalizers run during `lua_close` in the state's deinit.
    unowned(unsafe) let state: LuaState
    /// Name used in argument errors (`view`, `ap.zeros`).
    let name: String
    /// Methods number their arguments after `self`, as Lua's own messages do.
    let isMethod: Bool

    var count: Int { Int(lua_gettop(L)) }

    func type(_ i: Int32) -> Int32 { lua_type(L, i) }
    func isNoneOrNil(_ i: Int32) -> Bool { lua_type(L, i) <= LUA_TNIL }

    func typeName(_ i: Int32) -> String { LuaCall.typeName(L, i) }

    static func typeName(_ L: OpaquePointer, _ i: Int32) -> String {
        let t = lua_type(L, i)
        if t == LUA_TUSERDATA, lua_getmetatable(L, i) != 0 {
            lua_pushstring(L, "__name")
            lua_rawget(L, -2)
            defer { lua_settop(L, -3) }
            if lua_type(L, -1) == LUA_TSTRING, let s = lua_tolstring(L, -1, nil) {
                return String(cString: s).replacingOccurrences(of: "autoprog.", with: "")
            }
        }
        return String(cString: lua_typename(L, t))
    }

    func argumentError(_ i: Int32, _ message: String) -> LuaArgumentError {
        LuaArgumentError(function: name, position: isMethod ? Int(i) - 1 : Int(i), message: message)
    }

    func expected(_ i: Int32, _ what: String) -> LuaArgumentError {
        argumentError(i, "\(what) expected, got \(isNoneOrNil(i) && type(i) == LUA_TNONE ? "no value" : typeName(i))")
    }

    // MARK: Scalars

    func number(_ i: Int32) throws -> Double {
        guard type(i) == LUA_TNUMBER else { throw expected(i, "number") }
        return lua_tonumberx(L, i, nil)
    }

    func number(_ i: Int32, default value: Double) throws -> Double {
        isNoneOrNil(i) ? value : try number(i)
    }

    func float(_ i: Int32) throws -> Float { Float(try number(i)) }
    func float(_ i: Int32, default value: Float) throws -> Float { isNoneOrNil(i) ? value : try float(i) }

    func integer(_ i: Int32) throws -> Int {
        guard type(i) == LUA_TNUMBER else { throw expected(i, "integer") }
        var ok: Int32 = 0
        let v = lua_tointegerx(L, i, &ok)
        guard ok != 0 else { throw argumentError(i, "number has no integer representation") }
        return Int(v)
    }

    func integer(_ i: Int32, default value: Int) throws -> Int { isNoneOrNil(i) ? value : try integer(i) }

    func boolean(_ i: Int32) throws -> Bool {
        guard type(i) == LUA_TBOOLEAN else { throw expected(i, "boolean") }
        return lua_toboolean(L, i) != 0
    }

    func boolean(_ i: Int32, default value: Bool) throws -> Bool { isNoneOrNil(i) ? value : try boolean(i) }

    func string(_ i: Int32) throws -> String {
        guard type(i) == LUA_TSTRING, let s = lua_tolstring(L, i, nil) else { throw expected(i, "string") }
        return String(cString: s)
    }

    func table(_ i: Int32) throws {
        guard type(i) == LUA_TTABLE else { throw expected(i, "table") }
    }

    func function(_ i: Int32) throws {
        guard type(i) == LUA_TFUNCTION else { throw expected(i, "function") }
    }

    // MARK: Host objects

    func object<T: LuaHostObject>(_ i: Int32, _: T.Type = T.self) throws -> T {
        guard let o = LuaHost.object(L, i, T.self) else {
            if LuaHost.isClosed(L, i, T.self) { throw argumentError(i, "\(T.luaDisplayName) was closed") }
            throw expected(i, T.luaDisplayName)
        }
        return o
    }

    func optionalObject<T: LuaHostObject>(_ i: Int32, _: T.Type = T.self) throws -> T? {
        isNoneOrNil(i) ? nil : try object(i, T.self)
    }

    func tensor(_ i: Int32) throws -> Tensor { try object(i, TensorBox.self).tensor() }

    func optionalTensor(_ i: Int32) throws -> Tensor? { isNoneOrNil(i) ? nil : try tensor(i) }

    /// A tensor, or a number as a 0-d tensor (for arithmetic).
    func tensorOrNumber(_ i: Int32) throws -> Tensor {
        if type(i) == LUA_TNUMBER { return Tensor(scalar: Float(lua_tonumberx(L, i, nil))) }
        guard LuaHost.object(L, i, TensorBox.self) != nil || LuaHost.isClosed(L, i, TensorBox.self) else {
            throw expected(i, "Tensor or number")
        }
        return try tensor(i)
    }

    // MARK: Tables

    /// Values 1...#t of a sequence table (raw access).
    func sequenceLength(_ i: Int32) -> Int { Int(lua_rawlen(L, i)) }

    /// Calls `body` with each value of sequence `table` pushed on top (index -1); pops it after.
    func forEachElement(ofTable table: Int32, _ body: (Int) throws -> Void) rethrows {
        let t = lua_absindex(L, table)
        let n = sequenceLength(t)
        for k in 0..<n {
            lua_rawgeti(L, t, lua_Integer(k + 1))
            defer { lua_settop(L, -2) }
            try body(k)
        }
    }

    /// Numbers of a flat sequence table.
    func numbers(ofTable i: Int32) throws -> [Double] {
        try table(i)
        var out: [Double] = []
        try forEachElement(ofTable: i) { k in
            guard lua_type(L, -1) == LUA_TNUMBER else {
                throw argumentError(i, "element \(k + 1) is \(LuaCall.typeName(L, -1)), expected a number")
            }
            out.append(lua_tonumberx(L, -1, nil))
        }
        return out
    }

    func integers(ofTable i: Int32) throws -> [Int] {
        try numbers(ofTable: i).enumerated().map { k, v in
            guard v.rounded() == v, Swift.abs(v) < 1e15 else {
                throw argumentError(i, "element \(k + 1) (\(v)) is not an integer")
            }
            return Int(v)
        }
    }

    /// Pushes `t[key]` without metamethods; returns its Lua type.
    @discardableResult
    func rawField(_ table: Int32, _ key: String) -> Int32 {
        let t = lua_absindex(L, table)
        lua_pushstring(L, key)
        return lua_rawget(L, t)
    }

    /// The string keys of a table (raw traversal); other keys are reported as an error.
    func stringKeys(_ table: Int32) throws -> [String] {
        let t = lua_absindex(L, table)
        var keys: [String] = []
        lua_pushnil(L)
        while lua_next(L, t) != 0 {
            lua_settop(L, -2)  // drop the value, keep the key for lua_next
            guard lua_type(L, -1) == LUA_TSTRING, let s = lua_tolstring(L, -1, nil) else {
                let described = lua_type(L, -1) == LUA_TNUMBER ? "[\(lua_tonumberx(L, -1, nil))]" : LuaCall.typeName(L, -1)
                lua_settop(L, -2)
                throw LuaBindingError("\(name): unexpected key \(described) in an options table")
            }
            keys.append(String(cString: s))
        }
        return keys
    }

    /// Dimensions given as varargs (`2, 3`) or a table (`{2, 3}`) starting at argument `first`.
    /// Returns the dimensions and the index of the first argument after them.
    func dimensions(from first: Int32, allowEmpty: Bool = true, negativeAllowed: Bool = false) throws -> (shape: [Int], next: Int32) {
        var shape: [Int] = []
        var next = first
        if type(first) == LUA_TTABLE {
            shape = try integers(ofTable: first)
            next = first + 1
        } else {
            guard type(first) == LUA_TNUMBER || isNoneOrNil(first) else {
                throw expected(first, "dimensions (numbers or a table)")
            }
            while type(next) == LUA_TNUMBER {
                shape.append(try integer(next))
                next += 1
            }
            guard allowEmpty || !shape.isEmpty else { throw expected(first, "dimensions (numbers or a table)") }
        }
        if !negativeAllowed, let bad = shape.first(where: { $0 < 0 }) {
            throw argumentError(first, "negative dimension \(bad) in \(shape)")
        }
        return (shape, next)
    }

    // MARK: Pushing results

    func push(_ value: Double) { lua_pushnumber(L, value) }
    func push(_ value: Float) { lua_pushnumber(L, Double(value)) }
    func push(_ value: Int) { lua_pushinteger(L, lua_Integer(value)) }
    func push(_ value: Bool) { lua_pushboolean(L, value ? 1 : 0) }
    func push(_ value: String) { lua_pushstring(L, value) }
    func pushNil() { lua_pushnil(L) }
    func push(_ tensor: Tensor) { LuaHost.push(L, TensorBox(tensor), state: state) }
    func push<T: LuaHostObject>(object: T) { LuaHost.push(L, object, state: state) }
    func pushValue(_ i: Int32) { lua_pushvalue(L, i) }

    /// A new table holding `values` at 1...n.
    func push(sequence values: [Double]) {
        lua_createtable(L, Int32(values.count), 0)
        for (k, v) in values.enumerated() {
            lua_pushnumber(L, v)
            lua_rawseti(L, -2, lua_Integer(k + 1))
        }
    }

    func push(integers values: [Int]) {
        lua_createtable(L, Int32(values.count), 0)
        for (k, v) in values.enumerated() {
            lua_pushinteger(L, lua_Integer(v))
            lua_rawseti(L, -2, lua_Integer(k + 1))
        }
    }

    /// Sets `t[key] = top` without metamethods and pops the value.
    func setRawField(_ table: Int32, _ key: String) {
        let t = table < 0 ? table - 1 : table
        lua_pushstring(L, key)
        lua_rotate(L, -2, 1)
        lua_rawset(L, t)
    }

    /// Calls the function at `function` with the `arguments` values above it, protected:
    /// a Lua error becomes `LuaPropagatedError` with the error object left on the stack
    /// for the dispatcher to re-raise unchanged (its location and traceback intact).
    func protectedCall(arguments: Int32, results: Int32) throws {
        if ap_lua_pcall_recorded(L, arguments, results) != LUA_OK {
            throw LuaPropagatedError()
        }
    }
}

/// A bad argument to a binding (`bad argument #2 to 'view' (number expected, got string)`).
struct LuaArgumentError: Error, CustomStringConvertible {
    let function: String
    let position: Int
    let message: String
    var description: String {
        position < 1 ? "calling '\(function)' on bad self (\(message))" : "bad argument #\(position) to '\(function)' (\(message))"
    }
}

/// A problem a binding reports in its own words.
struct LuaBindingError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A Lua error (from a callback) whose error object is on top of the stack: re-raised as
/// it is, so it keeps the location where it happened.
struct LuaPropagatedError: Error {}
