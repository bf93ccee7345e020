"""Run a resource health script as Argo CD v3.5.1 runs it: Lua 5.1 (lupa's `lua51`; Argo CD links
gopher-lua, a Lua 5.1) with exactly the globals Argo CD's sandbox gives it.

Upstream truth (paths under ../shared/argocd/v3.5.1/):

- `util/lua/lua.go` `runLuaWithResourceActionParameters`: the state is created with
  `SkipOpenLibs: !vm.UseOpenLibs`, then `package`, base, `table` and `OpenSafeOs` are opened; the
  object is decoded by `decodeValue` (maps -> tables, lists -> 1-indexed tables, numbers -> Lua
  numbers, null -> nil) into the global `obj`; the script runs under a 1 s context deadline.
- `GetHealthScript`: a script from argocd-cm (`resource.customizations.health.<group>_<kind>`) runs
  with `UseOpenLibs` from `resource.customizations.useOpenLibs.<group>_<kind>` (default false);
  built-in scripts (`resource_customizations/<group>/<kind>/health.lua`) always get every library.
- `util/lua/oslib_safe.go` `OpenSafeOs` calls `l.RegisterModule(lua.TabLibName, osFuncs)`: the
  "table" module already exists, and gopher-lua's `RegisterModule` (auxlib.go) returns an existing
  module unchanged, so no global `os` exists in the sandbox; `require("os")` finds the preloaded
  `SafeOsLoader` and returns only `time` and `date`.
- gopher-lua `OpenPackage` (loadlib.go) replaces `package.loaded` with a fresh table, so after the
  four calls it holds `_G` and `table` only. Strings get their metatable (`s:len()`, `s:match()`)
  only from `OpenString`, which the sandbox never calls; `#s` is the VM's length operator and works.
- `ExecuteHealthLua`: a table result becomes the health status; a status outside Healthy,
  Progressing, Degraded, Suspended, Missing, Unknown becomes Unknown with "Lua returned an invalid
  health status"; nil becomes an empty status; an error is returned as the error.
"""

from __future__ import annotations

import time
from typing import Any

from lupa import lua51

DEADLINE_SECONDS = 1.0  # util/lua/lua.go: context.WithTimeout(context.Background(), 1*time.Second)
HEALTH_KEY = "resource.customizations.health.{}"
OPEN_LIBS_KEY = "resource.customizations.useOpenLibs.{}"
VALID_STATUSES = {"Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown"}
INVALID_HEALTH_STATUS = "Lua returned an invalid health status"  # util/lua/lua.go

# What gopher-lua's OpenBase (baselib.go baseFuncs, plus _G, _VERSION, ipairs, pairs) and the
# loadlib functions it registers as globals (module, require) define, and the two library tables.
SANDBOX_GLOBALS = frozenset({
    "assert", "collectgarbage", "dofile", "error", "getfenv", "getmetatable", "load", "loadfile",
    "loadstring", "next", "pcall", "print", "rawequal", "rawget", "rawset", "select", "setfenv",
    "setmetatable", "tonumber", "tostring", "type", "unpack", "xpcall", "module", "require",
    "newproxy", "ipairs", "pairs", "_G", "_VERSION", "package", "table",
})

_SANDBOX = """
local keep, deadline, clock = ...
-- OpenSafeOs (oslib_safe.go): only os.time and os.date, reachable by require("os") alone.
local safe_time, safe_date = os.time, os.date
package.preload.os = function() return {time = safe_time, date = safe_date} end
for name in pairs(package.loaded) do
  if name ~= "_G" and name ~= "table" then package.loaded[name] = nil end
end
-- The 1 s deadline: gopher-lua checks its context between instructions.
debug.sethook(function()
  if clock() > deadline then error("context deadline exceeded") end
end, "", 1000)
debug.setmetatable("", nil)  -- no OpenString: strings have no methods
local names = {}
for name in pairs(_G) do names[#names + 1] = name end
for _, name in ipairs(names) do
  if not keep[name] then _G[name] = nil end
end
_G._GOPHER_LUA_VERSION = "GopherLua 0.1"
"""

_OPEN = """
local deadline, clock = ...
debug.sethook(function()
  if clock() > deadline then error("context deadline exceeded") end
end, "", 1000)
python = nil
"""


class LuaScriptError(Exception):
    """The script raised an error: Argo CD reports the resource's health as an error, and a sync
    wave waiting on it never completes."""


def _decode(lua: Any, value: Any) -> Any:
    """util/lua/lua.go decodeValue: lists become 1-indexed tables, maps tables, numbers floats."""
    if isinstance(value, dict):
        table = lua.table()
        for key, item in value.items():
            decoded = _decode(lua, item)
            if decoded is not None:
                table[str(key)] = decoded
        return table
    if isinstance(value, list):
        table = lua.table()
        for index, item in enumerate(value, start=1):
            table[index] = _decode(lua, item)
        return table
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    return None


def _encode(value: Any) -> Any:
    """The Lua result as gopher-json's Encode sees it: a table with keys 1..n is a list."""
    if lua51.lua_type(value) != "table":
        return value
    items = dict(value.items())
    if items and all(isinstance(k, (int, float)) for k in items) and sorted(items) == list(range(1, len(items) + 1)):
        return [_encode(items[k]) for k in sorted(items)]
    return {str(k): _encode(v) for k, v in items.items()}


def run_health(script: str, obj: dict[str, Any], *, open_libs: bool) -> dict[str, str]:
    """The health status Argo CD's ExecuteHealthLua returns for `obj`, or LuaScriptError."""
    lua = lua51.LuaRuntime(unpack_returned_tuples=True, register_eval=False, register_builtins=False)
    deadline = time.monotonic() + DEADLINE_SECONDS
    if open_libs:
        lua.execute(_OPEN, deadline, time.monotonic)
    else:
        keep = lua.table_from({name: True for name in SANDBOX_GLOBALS})
        lua.execute(_SANDBOX, keep, deadline, time.monotonic)
    lua.globals().obj = _decode(lua, obj)
    try:
        result = lua.execute(script)
    except lua51.LuaError as exc:
        raise LuaScriptError(str(exc)) from None
    if result is None:
        return {}
    if lua51.lua_type(result) != "table":
        raise LuaScriptError(f"expect table output from Lua script, not {lua51.lua_type(result)}")
    status = _encode(result)
    if status == [] or status == {}:
        return {}
    status = {k: v for k, v in status.items() if k in ("status", "message") and v is not None}
    if status.get("status") not in VALID_STATUSES:
        return {"status": "Unknown", "message": INVALID_HEALTH_STATUS}
    return status


def configmap_health(configmap: dict[str, Any], group_kind: str, obj: dict[str, Any]) -> dict[str, str]:
    """Health of `obj` by the custom script an argocd-cm ConfigMap holds for `group_kind`
    (e.g. "argoproj.io_Application"), with the libraries that ConfigMap grants it (GetHealthScript)."""
    data = configmap["data"]
    open_libs = str(data.get(OPEN_LIBS_KEY.format(group_kind), "false")).lower() == "true"
    return run_health(data[HEALTH_KEY.format(group_kind)], obj, open_libs=open_libs)
