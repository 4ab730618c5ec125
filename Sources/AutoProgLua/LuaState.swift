import CLua
import Foundation

/// An embedded Lua 5.4 interpreter with the standard libraries open.
///
/// Errors never `longjmp` across Swift frames: chunks run under `lua_pcall`, and the
/// error object comes back as a Swift error carrying Lua's `file:line: message`.
public final class LuaState {
    public let L: OpaquePointer

    public struct LuaError: Error, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }

    public init() {
        L = luaL_newstate()
        luaL_openlibs(L)
    }

    deinit { lua_close(L) }

    /// Runs a chunk of Lua source; returns its first result converted to a string (nil if none).
    @discardableResult
    public func run(_ source: String, chunkName: String = "=(string)") throws -> String? {
        let top = lua_gettop(L)
        defer { lua_settop(L, top) }
        let loaded = source.withCString { s in luaL_loadbufferx(L, s, strlen(s), chunkName, nil) }
        guard loaded == LUA_OK else { throw LuaError(message: popString()) }
        guard ap_lua_pcall(L, 0, 1, 0) == LUA_OK else { throw LuaError(message: popString()) }
        if ap_lua_isnil(L, -1) != 0 { return nil }
        return luaL_tolstring(L, -1, nil).map { String(cString: $0) }
    }

    private func popString() -> String {
        let s = ap_lua_tostring(L, -1).map { String(cString: $0) } ?? "(error object is not a string)"
        ap_lua_pop(L, 1)
        return s
    }

    public static var version: String { String(cString: ap_lua_release()) }
}
