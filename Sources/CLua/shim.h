// Lua 5.4 from Debian's liblua5.4-dev. Lua's API uses C macros for several
// everyday calls; Swift cannot import macros with arguments, so they are
// re-exported here as static inline functions.
#include <lua5.4/lua.h>
#include <lua5.4/lualib.h>
#include <lua5.4/lauxlib.h>

static inline void ap_lua_pop(lua_State *L, int n) { lua_pop(L, n); }
static inline int ap_lua_pcall(lua_State *L, int nargs, int nresults, int msgh) {
    return lua_pcall(L, nargs, nresults, msgh);
}
static inline const char *ap_lua_tostring(lua_State *L, int idx) { return lua_tostring(L, idx); }
static inline lua_Number ap_lua_tonumber(lua_State *L, int idx) { return lua_tonumber(L, idx); }
static inline void ap_lua_newtable(lua_State *L) { lua_newtable(L); }
static inline int ap_lua_isnil(lua_State *L, int idx) { return lua_isnil(L, idx); }
static inline int ap_luaL_dostring(lua_State *L, const char *s) { return luaL_dostring(L, s); }
static inline int ap_luaL_loadfile(lua_State *L, const char *f) { return luaL_loadfile(L, f); }
static inline int ap_lua_upvalueindex(int i) { return lua_upvalueindex(i); }
static inline void ap_lua_register(lua_State *L, const char *n, lua_CFunction f) { lua_register(L, n, f); }
static inline const char *ap_lua_release(void) { return LUA_RELEASE; }
