import AutoProg
import CLua
import CLuaBridge
import Foundation

/// A Swift object handed to Lua as a full userdata: the userdata holds one retained
/// reference, released by `__gc` (or earlier by `__close`, for `local t <close> = ...`).
protocol LuaHostObject: AnyObject {
    /// The metatable's registry name and `__name` (`autoprog.Tensor`).
    static var luaTypeName: String { get }
    /// Bytes held outside Lua's heap, reported to the collector when pushed.
    var externalBytes: Int { get }
}

extension LuaHostObject {
    var externalBytes: Int { 0 }
    /// The name users see (`Tensor`).
    static var luaDisplayName: String { luaTypeName.replacingOccurrences(of: "autoprog.", with: "") }
}

enum LuaHost {
    private static let slotSize = MemoryLayout<UnsafeMutableRawPointer?>.size

    static func push<T: LuaHostObject>(_ L: OpaquePointer, _ object: T, state: LuaState) {
        let slot = lua_newuserdatauv(L, slotSize, 0)!
        slot.storeBytes(of: Unmanaged.passRetained(object as AnyObject).toOpaque(), as: UnsafeMutableRawPointer?.self)
        lua_getfield(L, ap_lua_registry_index(), T.luaTypeName)  // the registry has no metatable: cannot raise
        lua_setmetatable(L, -2)
        state.noteExternalAllocation(L, bytes: object.externalBytes)
    }

    /// The object in the userdata at `i` if it is a live `T`.
    static func object<T: LuaHostObject>(_ L: OpaquePointer, _ i: Int32, _: T.Type) -> T? {
        guard let slot = luaL_testudata(L, i, T.luaTypeName),
              let raw = slot.load(as: UnsafeMutableRawPointer?.self) else { return nil }
        return Unmanaged<AnyObject>.fromOpaque(raw).takeUnretainedValue() as? T
    }

    /// True when `i` is a `T` userdata whose object was already released by `__close`.
    static func isClosed<T: LuaHostObject>(_ L: OpaquePointer, _ i: Int32, _: T.Type) -> Bool {
        guard let slot = luaL_testudata(L, i, T.luaTypeName) else { return false }
        return slot.load(as: UnsafeMutableRawPointer?.self) == nil
    }

    /// Releases the object of any host userdata at `i` (idempotent): `__gc` and `__close`.
    static func release(_ L: OpaquePointer, _ i: Int32) {
        guard lua_type(L, i) == LUA_TUSERDATA, let slot = lua_touserdata(L, i),
              let raw = slot.load(as: UnsafeMutableRawPointer?.self) else { return }
        slot.storeBytes(of: nil, as: UnsafeMutableRawPointer?.self)
        Unmanaged<AnyObject>.fromOpaque(raw).release()
    }
}

/// A Swift closure callable from Lua; the state keeps the box alive while Lua may call it.
final class LuaFunctionBox {
    let name: String
    let isMethod: Bool
    unowned(unsafe) let state: LuaState
    let body: (LuaCall) throws -> Int

    init(name: String, isMethod: Bool, state: LuaState, body: @escaping (LuaCall) throws -> Int) {
        self.name = name
        self.isMethod = isMethod
        self.state = state
        self.body = body
    }
}

/// The one C entry point for every Swift binding: runs the closure and converts a thrown
/// Swift error into a status the C trampoline raises once this frame has returned.
let luaDispatch: ap_swift_function = { L, context in
    let box = Unmanaged<LuaFunctionBox>.fromOpaque(context!).takeUnretainedValue()
    let call = LuaCall(L: L!, state: box.state, name: box.name, isMethod: box.isMethod)
    do {
        return Int32(try box.body(call))
    } catch is LuaPropagatedError {
        ap_lua_mark_propagating(L)
        return AP_LUA_RAISE
    } catch is RecipeOptions.HelpRequested {
        lua_pushlightuserdata(L, LuaState.helpSentinel)
        return AP_LUA_RAISE
    } catch {
        lua_pushstring(L, LuaState.describe(error))
        return AP_LUA_RAISE_AT
    }
}

/// A Lua binding: how it is documented and what it does.
struct LuaBinding {
    let name: String
    let doc: String
    let body: (LuaCall) throws -> Int

    init(_ name: String, _ doc: String, _ body: @escaping (LuaCall) throws -> Int) {
        self.name = name
        self.doc = doc
        self.body = body
    }
}

extension LuaState {
    /// Pushes a Lua function running `body`.
    func pushFunction(_ name: String, isMethod: Bool = false, _ body: @escaping (LuaCall) throws -> Int) {
        let box = LuaFunctionBox(name: name, isMethod: isMethod, state: self, body: body)
        retainedBoxes.append(box)
        ap_lua_push_swift_function(L, luaDispatch, Unmanaged.passUnretained(box).toOpaque())
    }

    /// Sets `bindings` as functions in the table at `table`, documenting each under `path.name`.
    func register(_ bindings: [LuaBinding], in table: Int32, path: String, isMethod: Bool = false) {
        let t = lua_absindex(L, table)
        for b in bindings {
            let qualified = path.isEmpty ? b.name : path + (isMethod ? ":" : ".") + b.name
            pushFunction(isMethod ? b.name : qualified, isMethod: isMethod, b.body)
            if !path.isEmpty {
                // docpaths[function] = path, so that ap.help(f) finds f's documentation.
                lua_getfield(L, ap_lua_registry_index(), LuaState.docPathsKey)
                lua_pushvalue(L, -2)
                lua_pushstring(L, qualified)
                lua_rawset(L, -3)
                lua_settop(L, -2)
            }
            lua_pushstring(L, b.name)
            lua_rotate(L, -2, 1)
            lua_rawset(L, t)
            documentation[qualified] = b.doc
        }
    }

    /// Creates the metatable of a host type: `__name`, `__gc`/`__close` (release),
    /// `__tostring`, the documented `methods`, and `__index` that looks up methods first
    /// and then calls `getter` (properties, integer indexing) if given.
    func defineType<T: LuaHostObject>(_: T.Type, methods: [LuaBinding], metamethods: [LuaBinding],
                                      getter: ((LuaCall) throws -> Int)? = nil, tostring: @escaping (T) -> String) {
        let display = T.luaDisplayName
        luaL_newmetatable(L, T.luaTypeName)
        let mt = lua_gettop(L)
        let release: (LuaCall) throws -> Int = { call in
            LuaHost.release(call.L, 1)
            return 0
        }
        pushFunction("__gc", release)
        lua_setfield(L, mt, "__gc")
        pushFunction("__close", release)
        lua_setfield(L, mt, "__close")
        pushFunction("__tostring") { call in
            if LuaHost.isClosed(call.L, 1, T.self) {
                call.push("\(display) (closed)")
            } else {
                call.push(tostring(try call.object(1, T.self)))
            }
            return 1
        }
        lua_setfield(L, mt, "__tostring")
        register(metamethods, in: mt, path: "")
        for m in metamethods { documentation[m.name] = nil }

        lua_createtable(L, 0, Int32(methods.count))
        register(methods, in: -1, path: display, isMethod: true)
        methodLists[display] = methods.map(\.name).sorted()
        if let getter {
            // __index looks up methods first, then asks the getter (properties, t[i]). It is
            // a Swift function rather than a Lua closure so that errors point at the recipe
            // line (luaL_where level 1) and not at a helper.
            let methodsKey = T.luaTypeName + ".methods"
            lua_pushvalue(L, -1)
            lua_setfield(L, ap_lua_registry_index(), methodsKey)
            lua_settop(L, -2)
            pushFunction("__index", isMethod: true) { call in
                lua_getfield(call.L, ap_lua_registry_index(), methodsKey)
                lua_pushvalue(call.L, 2)
                if lua_rawget(call.L, -2) != LUA_TNIL { return 1 }
                lua_settop(call.L, 2)
                return try getter(call)
            }
        }
        lua_setfield(L, mt, "__index")
        lua_settop(L, mt - 1)
    }

    /// Creates (or reuses) the table `t[name]` of the table at `parent` and pushes it.
    func pushSubtable(of parent: Int32, _ name: String) {
        let p = lua_absindex(L, parent)
        lua_pushstring(L, name)
        if lua_rawget(L, p) == LUA_TTABLE { return }
        lua_settop(L, -2)
        lua_createtable(L, 0, 8)
        lua_pushstring(L, name)
        lua_pushvalue(L, -2)
        lua_rawset(L, p)
    }

    /// Reports memory a new host object holds outside Lua's heap, so that the
    /// incremental collector frees dead tensors at the pace they are made.
    func noteExternalAllocation(_ L: OpaquePointer, bytes: Int) {
        guard bytes > 0 else { return }
        pendingExternalBytes += bytes
        if pendingExternalBytes >= 256 << 10 {
            let kb = pendingExternalBytes >> 10
            pendingExternalBytes = 0
            ap_lua_gc_step(L, Int32(min(kb, Int(Int32.max))))
        }
    }

    /// An error's message as recipes see it: the description of engine errors.
    static func describe(_ error: Error) -> String {
        let ns = error as NSError
        if ns.domain == NSCocoaErrorDomain || ns.domain == NSPOSIXErrorDomain { return ns.localizedDescription }
        return String(describing: error)
    }
}
