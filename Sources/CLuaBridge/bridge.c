#include "ap_lua_bridge.h"
#include <lua5.4/lauxlib.h>

static int trampoline(lua_State *L) {
    ap_swift_function f = (ap_swift_function)lua_touserdata(L, lua_upvalueindex(1));
    void *context = lua_touserdata(L, lua_upvalueindex(2));
    int n = f(L, context);
    // The Swift frame is gone: safe to longjmp.
    if (n == AP_LUA_RAISE_AT) {
        if (lua_type(L, -1) == LUA_TSTRING) {
            luaL_where(L, 1);
            lua_insert(L, -2);
            lua_concat(L, 2);
        }
        return lua_error(L);
    }
    if (n == AP_LUA_RAISE) return lua_error(L);
    return n;
}

void ap_lua_push_swift_function(lua_State *L, ap_swift_function function, void *context) {
    lua_pushlightuserdata(L, (void *)function);
    lua_pushlightuserdata(L, context);
    lua_pushcclosure(L, trampoline, 2);
}

static int traceback_handler(lua_State *L) {
    const char *message = lua_tostring(L, 1);
    if (message == NULL) {
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) return 1;
        message = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    }
    luaL_traceback(L, L, message, 1);
    return 1;
}

int ap_lua_pcall_traceback(lua_State *L, int nargs, int nresults) {
    int base = lua_gettop(L) - nargs;  // the function's index
    lua_pushcfunction(L, traceback_handler);
    lua_insert(L, base);
    int status = lua_pcall(L, nargs, nresults, base);
    lua_remove(L, base);
    return status;
}

#define AP_ERROR_OBJECT "autoprog.error.object"
#define AP_ERROR_TRACEBACK "autoprog.error.traceback"
#define AP_ERROR_PROPAGATING "autoprog.error.propagating"

static int recording_handler(lua_State *L) {
    lua_settop(L, 1);
    lua_getfield(L, LUA_REGISTRYINDEX, AP_ERROR_PROPAGATING);
    int propagating = lua_toboolean(L, -1);
    lua_pop(L, 1);
    lua_pushnil(L);
    lua_setfield(L, LUA_REGISTRYINDEX, AP_ERROR_PROPAGATING);
    if (propagating) {
        lua_getfield(L, LUA_REGISTRYINDEX, AP_ERROR_OBJECT);
        int same = lua_rawequal(L, -1, 1);
        lua_pop(L, 1);
        if (same) return 1;  // keep the traceback taken where the error began
    }
    const char *message;
    if (lua_type(L, 1) == LUA_TSTRING || lua_type(L, 1) == LUA_TNUMBER) {
        lua_pushvalue(L, 1);
        message = lua_tostring(L, -1);
    } else if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) {
        message = lua_tostring(L, -1);
    } else {
        message = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    }
    luaL_traceback(L, L, message, 1);
    lua_setfield(L, LUA_REGISTRYINDEX, AP_ERROR_TRACEBACK);
    lua_pushvalue(L, 1);
    lua_setfield(L, LUA_REGISTRYINDEX, AP_ERROR_OBJECT);
    lua_settop(L, 1);
    return 1;
}

int ap_lua_pcall_recorded(lua_State *L, int nargs, int nresults) {
    int base = lua_gettop(L) - nargs;
    lua_pushcfunction(L, recording_handler);
    lua_insert(L, base);
    int status = lua_pcall(L, nargs, nresults, base);
    lua_remove(L, base);
    return status;
}

void ap_lua_push_recorded_traceback(lua_State *L) {
    lua_getfield(L, LUA_REGISTRYINDEX, AP_ERROR_TRACEBACK);
}

void ap_lua_clear_recorded_error(lua_State *L) {
    lua_pushnil(L);
    lua_setfield(L, LUA_REGISTRYINDEX, AP_ERROR_TRACEBACK);
    lua_pushnil(L);
    lua_setfield(L, LUA_REGISTRYINDEX, AP_ERROR_OBJECT);
    lua_pushnil(L);
    lua_setfield(L, LUA_REGISTRYINDEX, AP_ERROR_PROPAGATING);
}

void ap_lua_mark_propagating(lua_State *L) {
    lua_pushboolean(L, 1);
    lua_setfield(L, LUA_REGISTRYINDEX, AP_ERROR_PROPAGATING);
}

void ap_lua_gc_step(lua_State *L, int kb) { lua_gc(L, LUA_GCSTEP, kb); }
void ap_lua_gc_collect(lua_State *L) { lua_gc(L, LUA_GCCOLLECT); }
int ap_lua_gc_count_kb(lua_State *L) { return lua_gc(L, LUA_GCCOUNT); }
void ap_lua_push_where(lua_State *L, int level) { luaL_where(L, level); }
int ap_lua_registry_index(void) { return LUA_REGISTRYINDEX; }
void ap_lua_insert(lua_State *L, int index) { lua_insert(L, index); }
void ap_lua_remove(lua_State *L, int index) { lua_remove(L, index); }
