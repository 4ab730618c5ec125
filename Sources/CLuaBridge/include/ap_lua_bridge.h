// Calls from Lua into Swift without unwinding Swift frames.
//
// lua_error() longjmps; doing that from Swift would skip Swift's cleanup (ARC releases,
// defer blocks). So a Swift function exposed to Lua never raises: it returns a status,
// and this C trampoline raises after the Swift frame has returned.
#ifndef AP_LUA_BRIDGE_H
#define AP_LUA_BRIDGE_H
#include <lua5.4/lua.h>

/// A Swift function callable from Lua. Returns the number of results pushed (≥ 0),
/// AP_LUA_RAISE after pushing an error value to raise as it is, or AP_LUA_RAISE_AT after
/// pushing a message string that the trampoline prefixes with the calling Lua line
/// (`file:line: `, luaL_where level 1, as luaL_error does).
typedef int (*ap_swift_function)(lua_State *L, void *context);
#define AP_LUA_RAISE (-1)
#define AP_LUA_RAISE_AT (-2)

/// Pushes a Lua function that calls `function(L, context)` through the trampoline.
void ap_lua_push_swift_function(lua_State *L, ap_swift_function function, void *context);

/// Runs a protected call with a message handler that appends a traceback to errors
/// (luaL_traceback), leaving either the results or the error message on the stack.
int ap_lua_pcall_traceback(lua_State *L, int nargs, int nresults);

/// Runs a protected call whose message handler records the error's traceback in the
/// registry (read it with ap_lua_push_recorded_traceback) and leaves the error object
/// itself unchanged, so Swift gets Lua's `file:line: message` and the traceback apart.
/// When Swift re-raises an error that came out of a callback (after
/// ap_lua_mark_propagating), the outer handler keeps the deeper, earlier traceback.
int ap_lua_pcall_recorded(lua_State *L, int nargs, int nresults);

/// Pushes the traceback recorded for the last error (a string), or nil.
void ap_lua_push_recorded_traceback(lua_State *L);

/// Forgets the recorded traceback (before a new top-level call).
void ap_lua_clear_recorded_error(lua_State *L);

/// Marks that the error about to be re-raised came out of a callback: the next handler
/// keeps the traceback already recorded for that same error object.
void ap_lua_mark_propagating(lua_State *L);

/// Tells the incremental collector that `kb` kilobytes were allocated outside Lua (a
/// tensor's buffer held by a small userdata), so garbage tensors are collected in step
/// with the memory they really hold (lua_gc(L, LUA_GCSTEP, kb)).
void ap_lua_gc_step(lua_State *L, int kb);

/// Full collection (lua_gc(L, LUA_GCCOLLECT)).
void ap_lua_gc_collect(lua_State *L);

/// Kilobytes Lua itself has allocated (lua_gc(L, LUA_GCCOUNT)).
int ap_lua_gc_count_kb(lua_State *L);

/// Pushes `luaL_where(L, level)`: "chunk:line: " of the function at `level`, or "".
void ap_lua_push_where(lua_State *L, int level);

/// LUA_REGISTRYINDEX, which Swift cannot import (it is a macro expression).
int ap_lua_registry_index(void);

/// Lua's stack-manipulation macros as functions.
void ap_lua_insert(lua_State *L, int index);
void ap_lua_remove(lua_State *L, int index);
#endif
