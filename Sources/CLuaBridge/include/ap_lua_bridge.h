// Calls from Lua into Swift without unwinding Swift frames.
//
// lua_error() longjmps; doing that from Swift would skip Swift's cleanup (ARC releases,
// defer blocks). So a Swift function exposed to Lua never raises: it returns a status,
// and this C trampoline raises after the Swift frame has returned.
#ifndef AP_LUA_BRIDGE_H
#define AP_LUA_BRIDGE_H
#include <lua5.4/lua.h>

/// A Swift function callable from Lua. Returns the number of results pushed (≥ 0), or
/// AP_LUA_RAISE after pushing an error value (a message string) to raise it.
typedef int (*ap_swift_function)(lua_State *L, void *context);
#define AP_LUA_RAISE (-1)

/// Pushes a Lua function that calls `function(L, context)` through the trampoline.
void ap_lua_push_swift_function(lua_State *L, ap_swift_function function, void *context);

/// Runs a protected call with a message handler that appends a traceback to errors
/// (luaL_traceback), leaving either the results or the error message on the stack.
int ap_lua_pcall_traceback(lua_State *L, int nargs, int nresults);
#endif
