/// The Lua half of `LuaEvaluator`, run once per Lua state and kept in the registry.
///
/// Everything that can raise a Lua error (calling `tostring` on user values, walking
/// tables for `help` and completion, the interrupt hook) lives here, in Lua, so Swift only
/// ever enters the state through a protected call. The chunk receives the Swift function
/// that reports a pending Ctrl-C and returns the support table `M`.
enum EvaluatorSupport {
    static let registryKey = "autoprog.repl"

    static let source = #"""
local interrupted = ...
local M = { bound = {} }
local select, tostring, type, pairs, next, pcall, xpcall, getmetatable, rawget =
      select, tostring, type, pairs, next, pcall, xpcall, getmetatable, rawget
local concat, sort, pack = table.concat, table.sort, table.pack
local debug, G = debug, _G

-- Lua's print formatting: tostring of every argument, tab-separated.
local function render(...)
  local parts = {}
  for i = 1, select("#", ...) do
    local ok, s = pcall(tostring, (select(i, ...)))
    parts[i] = ok and s or ("<tostring failed: " .. tostring(s) .. ">")
  end
  return concat(parts, "\t")
end

-- Message + traceback, cut below the user's chunk (the REPL's own frames are noise).
local function traceback(message)
  if type(message) ~= "string" then
    local ok, s = pcall(tostring, message)
    message = ok and s or ("(error object is a " .. type(message) .. " value)")
  end
  local tb = debug.traceback(message, 2)
  local cut = tb:find("\n%s*%[C%]: in function 'xpcall'")
  if cut then tb = tb:sub(1, cut - 1) end
  return tb
end

-- A count hook lets Ctrl-C stop a runaway evaluation with an ordinary Lua error.
local function hook()
  if interrupted() then error("interrupted", 2) end
end

-- Runs `fn` with print routed to `emit`; returns ok, text (results or error), control.
function M.run(fn, expression, emit)
  local saved = print
  local function replPrint(...) emit(render(...) .. "\n") end
  print = replPrint
  M.control = nil
  local hooked = debug.gethook() == nil
  if hooked then debug.sethook(hook, "", 1000) end
  local results = pack(xpcall(fn, traceback))
  if hooked then debug.sethook() end
  if print == replPrint then print = saved end
  local control = M.control
  M.control = nil
  if not results[1] then return false, results[2], control end
  if results.n == 1 then return true, nil, control end
  if expression then
    local allNil = true
    for i = 2, results.n do if results[i] ~= nil then allNil = false break end end
    if allNil then return true, nil, control end
  end
  return true, render(table.unpack(results, 2, results.n)), control
end

local function request(what) return function() M.control = what end end
G["continue"] = request("continue")
G.stop = request("stop")
G.exit = request("stop")

local function sortedKeys(t)
  local keys = {}
  for k in next, t do keys[#keys + 1] = k end
  sort(keys, function(a, b)
    if type(a) == type(b) and (type(a) == "string" or type(a) == "number") then return a < b end
    return tostring(a) < tostring(b)
  end)
  return keys
end

-- Doc strings: _G.__doc, ap.__doc and require("autoprog").__doc, keyed by name or by value.
local function docs()
  local d = {}
  local function merge(t)
    if type(t) == "table" then for k, v in next, t do if type(v) == "string" then d[k] = v end end end
  end
  merge(rawget(G, "__doc"))
  local ap = rawget(G, "ap")
  if type(ap) == "table" then merge(rawget(ap, "__doc")) end
  local loaded = type(package) == "table" and type(package.loaded) == "table" and package.loaded.autoprog
  if type(loaded) == "table" then merge(rawget(loaded, "__doc")) end
  return d
end

local function summary(v)
  local ok, s = pcall(tostring, v)
  s = ok and s or "?"
  s = s:match("^[^\n]*")
  if #s > 60 then s = s:sub(1, 57) .. "..." end
  return s
end

local function nameOf(fn)
  local function search(t, prefix)
    if type(t) ~= "table" then return nil end
    for k, v in next, t do if v == fn and type(k) == "string" then return prefix .. k end end
  end
  return search(G, "") or search(rawget(G, "ap"), "ap.")
end

local guide = [[
autoprog REPL: Lua 5.4 with the run's live objects.
  expression   prints its value (1+2, model); any Lua statement runs as is
  ..>          unfinished input (for i=1,3 do) continues on the next line
  help(x)      describe x: a table's keys, an object's methods, a function's doc
  continue()   resume the run (Ctrl-D too)
  stop()       end the run at this step boundary (exit() too)
  Tab completes names (a.b.c, obj:method); Ctrl-C cancels the current line.]]

function M.help(...)
  local out = {}
  local function line(s) out[#out + 1] = s end
  local d = docs()
  if select("#", ...) == 0 then
    line(guide)
    if #M.bound > 0 then
      line("Live objects:")
      for _, name in ipairs(M.bound) do
        local v = rawget(G, name)
        line(string.format("  %-12s %-9s %s", name, type(v), summary(v)))
      end
    end
    return concat(out, "\n")
  end
  local obj = ...
  local kind = type(obj)
  if kind == "string" and d[obj] then
    line(obj .. ": " .. d[obj])
  elseif kind == "table" then
    local keys = sortedKeys(obj)
    line(string.format("table with %d keys:", #keys))
    for _, k in ipairs(keys) do
      local v = obj[k]
      local doc = type(k) == "string" and (d[k] or d[v]) or d[v]
      line(string.format("  %-16s %-9s%s", tostring(k), type(v), doc and ("  " .. doc) or ""))
    end
    local mt = getmetatable(obj)
    if type(mt) == "table" and type(rawget(mt, "__index")) == "table" then
      line("inherited methods:")
      for _, k in ipairs(sortedKeys(rawget(mt, "__index"))) do line("  " .. tostring(k)) end
    end
  elseif kind == "userdata" then
    local mt = getmetatable(obj)
    local name = type(mt) == "table" and rawget(mt, "__name") or "userdata"
    line(tostring(name) .. ": " .. summary(obj))
    local index = type(mt) == "table" and rawget(mt, "__index")
    if type(index) == "table" then
      line("methods:")
      for _, k in ipairs(sortedKeys(index)) do
        local doc = d[tostring(name) .. ":" .. tostring(k)] or d[tostring(name) .. "." .. tostring(k)]
                    or d[k] or d[index[k]]
        line(string.format("  :%-16s%s", tostring(k), doc and ("  " .. doc) or ""))
      end
    end
  elseif kind == "function" then
    local name = nameOf(obj)
    local doc = d[obj] or (name and d[name])
    line((name or "function") .. ": " .. (doc or "no documentation registered"))
  else
    line(kind .. ": " .. summary(obj))
  end
  return concat(out, "\n")
end
G.help = function(...) print(M.help(...)) end
function M.helpGlobal(name) return M.help(rawget(G, name)) end

function M.setBound(...) M.bound = { ... } end

local keywords = { "and", "break", "do", "else", "elseif", "end", "false", "for", "function",
  "goto", "if", "in", "local", "nil", "not", "or", "repeat", "return", "then", "true", "until", "while" }

-- Identifier keys of a value: a table's own keys, then (for tables and userdata) the
-- keys of its metatable's __index table, following __index chains a few levels.
local function addKeys(set, v, methodsOnly, depth)
  if type(v) == "table" then
    for k, x in next, v do
      if type(k) == "string" and k:match("^[%a_][%w_]*$") and (not methodsOnly or type(x) == "function") then
        set[k] = true
      end
    end
  end
  local mt = getmetatable(v)
  if type(mt) == "table" and depth < 4 then
    local index = rawget(mt, "__index")
    if type(index) == "table" then addKeys(set, index, methodsOnly, depth + 1) end
  end
end

-- Completions of `text` ("pri", "model.bl", "t:si"), newline-separated.
function M.complete(text)
  local head, sep, partial = text:match("^(.*)([.:])([%w_]*)$")
  local set = {}
  if head then
    local value = G
    for name, dot in (head .. "."):gmatch("([^.:]*)([.:])") do
      if not name:match("^[%a_][%w_]*$") or dot == ":" then return "" end
      local ok, v = pcall(function() return value[name] end)
      if not ok or v == nil then return "" end
      value = v
    end
    addKeys(set, value, sep == ":", 0)
  else
    partial = text
    addKeys(set, G, false, 0)
    for _, k in ipairs(keywords) do set[k] = true end
  end
  local out = {}
  for k in next, set do
    if k:sub(1, #partial) == partial then out[#out + 1] = (head and (head .. sep) or "") .. k end
  end
  sort(out)
  return concat(out, "\n")
end

return M
"""#
}
