--[[
  Where waiting parties of a Barrier stand, each leaving it once its round is
  over (asyncio's Barrier.wait, second half): passed while the barrier
  drains, broken when it resets or is broken. With leave = 1 (an aborted
  wait) a party still filling leaves too. The last party to leave a draining
  or resetting barrier makes it fill again. Also drops the parties of
  sessions whose lease ran out, and keeps the caller's session alive.

  KEYS[1] state    (HASH)  "kind", "parties", "phase"
  KEYS[2] members  (ZSET)  party id -> its index
  KEYS[3] leases   (ZSET)  session id -> lease expiry (ms)
  KEYS[4] sessions (HASH)  session id -> JSON { host, pid }

  ARGV[1] msgpack { session, leaseMs, info, leave = 0 | 1, done = prefix of the keys that
                    remember answers, pub, channel }
  ARGV[2...] party ids

  Returns a result per id: "w" still waiting; "a" left while filling (aborted); "p<index>"
  passed; "r" broken by a reset; "b" broken; "g" gone (its session's lease ran out). A party
  that left, asked again after a lost reply, gets the same answer.
]]
-- @include sync-lib
local state, members, leases, sessions = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local o = cmsgpack.unpack(ARGV[1])
local now = nowMs()
local dead = takeExpired(leases, sessions, now)
if dead then
  dropOwnedMembers(members, dead)
end
local phase = rcall("HGET", state, "phase")
local out = {}
local waiting = false
for i = 2, #ARGV do
  local id = ARGV[i]
  local index = rcall("ZSCORE", members, id)
  if not index then
    out[i - 1] = remembered(o.done, "left:" .. id) or "g"
  elseif phase == "filling" and o.leave ~= 1 then
    out[i - 1] = "w"
    waiting = true
  else
    rcall("ZREM", members, id)
    if phase == "filling" then
      out[i - 1] = "a"
    elseif phase == "draining" then
      out[i - 1] = "p" .. index
    elseif phase == "resetting" then
      out[i - 1] = "r"
    else
      out[i - 1] = "b"
    end
    remember(o.done, "left:" .. id, out[i - 1])
  end
end
if waiting then
  keepAlive(leases, sessions, o.session, now, o.leaseMs, o.info)
end
barrierExited(state, members, o.pub, o.channel)
return out
