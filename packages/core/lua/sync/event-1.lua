--[[
  Event.set() and Event.clear(). Each set of a clear event starts a new
  generation and announces it, so every waiter present at the set wakes
  even if clear() follows at once: a waiter compares generations, not the flag.

  KEYS[1] state (HASH) "kind" = "event", "set" = "1" | "0", "gen" (sets so far)

  ARGV[1] msgpack { op = "set" | "clear", pub, channel }

  Returns the generation.
]]
-- @include sync-lib
local o = cmsgpack.unpack(ARGV[1])
local f = rcall("HMGET", KEYS[1], "set", "gen")
local gen = tonumber(f[2]) or 0
if o.op == "set" then
  if f[1] ~= "1" then
    gen = rcall("HINCRBY", KEYS[1], "gen", 1)
    rcall("HSET", KEYS[1], "kind", "event", "set", "1")
    rcall(o.pub, o.channel, "s " .. gen)
  end
else
  rcall("HSET", KEYS[1], "kind", "event", "set", "0", "gen", gen)
end
return gen
