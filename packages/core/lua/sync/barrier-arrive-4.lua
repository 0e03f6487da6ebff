--[[
  A party arrives at a Barrier (asyncio's Barrier.wait, first half). While
  the barrier drains (the parties of the last round have not all left yet)
  or resets, arrivals are turned back to wait for it to fill again. The
  party that makes the count reach `parties` trips it: the barrier drains,
  that party leaves at once, and the others leave as they see it (see
  barrier-check-4.lua); when the last one has left, it fills again.

  KEYS[1] state    (HASH)  "kind" = "barrier", "parties", "phase" = "filling" | "draining" |
                           "resetting" | "broken"
  KEYS[2] members  (ZSET)  party id -> its index, for the parties in the barrier
  KEYS[3] leases   (ZSET)  session id -> lease expiry (ms)
  KEYS[4] sessions (HASH)  session id -> JSON { host, pid }

  ARGV[1] msgpack { parties, session, leaseMs, info, id, done = prefix of the keys that remember
                    answers, pub, channel }

  Returns { "mismatch", parties } when the barrier exists with another number of parties;
  { "broken" }; { "blocked" } while it drains or resets; { "passed", index } when this party
  tripped it; else { "waiting", index }. Sent again after a lost reply, the first answer.
]]
-- @include sync-lib
local state, members, leases, sessions = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local o = cmsgpack.unpack(ARGV[1])
local f = rcall("HMGET", state, "kind", "parties")
if not f[1] then
  rcall("HSET", state, "kind", "barrier", "parties", o.parties, "phase", "filling")
elseif tonumber(f[2]) ~= o.parties then
  return { "mismatch", tonumber(f[2]) or 0 }
end
local inside = rcall("ZSCORE", members, o.id)
if inside then
  return { "waiting", tonumber(inside) }
end
local before = remembered(o.done, "arrive:" .. o.id)
if before then
  return before
end
local now = nowMs()
local dead = takeExpired(leases, sessions, now)
if dead then
  dropOwnedMembers(members, dead)
  barrierExited(state, members, o.pub, o.channel)
end
local phase = rcall("HGET", state, "phase")
if phase == "broken" then
  return { "broken" }
elseif phase ~= "filling" then
  return { "blocked" }
end
local index = rcall("ZCARD", members)
if index + 1 >= o.parties then
  rcall("HSET", state, "phase", "draining")
  rcall(o.pub, o.channel, "b draining")
  barrierExited(state, members, o.pub, o.channel)
  return remember(o.done, "arrive:" .. o.id, { "passed", index })
end
keepAlive(leases, sessions, o.session, now, o.leaseMs, o.info)
rcall("ZADD", members, index, o.id)
return { "waiting", index }
