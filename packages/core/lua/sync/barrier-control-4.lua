--[[
  Barrier.reset(), Barrier.abort(), and a closing handle's leave, as asyncio
  does them: abort breaks the barrier (every party waiting or arriving gets
  BrokenBarrier); reset makes parties still inside get BrokenBarrier and the
  barrier fill again once they have left (at once when none is inside); a
  closing handle's parties leave. Waiters learn of a phase on the channel.

  KEYS[1] state    (HASH)  "kind", "parties", "phase"
  KEYS[2] members  (ZSET)  party id -> its index
  KEYS[3] leases   (ZSET)  session id -> lease expiry (ms)
  KEYS[4] sessions (HASH)  session id -> JSON { host, pid }

  ARGV[1] msgpack { op = "reset" | "abort" | "leave", parties, session, pub, channel }

  Returns the phase after it.
]]
-- @include sync-lib
local state, members, leases, sessions = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local o = cmsgpack.unpack(ARGV[1])
if not rcall("HGET", state, "kind") then
  if o.op == "leave" then
    return "filling"
  end
  rcall("HSET", state, "kind", "barrier", "parties", o.parties, "phase", "filling")
end
local now = nowMs()
local gone = takeExpired(leases, sessions, now) or {}
if o.op == "leave" then
  for s in pairs(forget(leases, sessions, { o.session })) do
    gone[s] = true
  end
end
dropOwnedMembers(members, gone)
if o.op == "abort" then
  rcall("HSET", state, "phase", "broken")
  rcall(o.pub, o.channel, "b broken")
elseif o.op == "reset" then
  if rcall("ZCARD", members) > 0 then
    if rcall("HGET", state, "phase") ~= "resetting" then
      rcall("HSET", state, "phase", "resetting")
      rcall(o.pub, o.channel, "b resetting")
    end
  else
    rcall("HSET", state, "phase", "filling")
    rcall(o.pub, o.channel, "b filling")
  end
end
barrierExited(state, members, o.pub, o.channel)
return rcall("HGET", state, "phase")
