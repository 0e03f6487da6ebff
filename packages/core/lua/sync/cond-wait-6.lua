--[[
  Condition.wait(), first half, in one step: the holder of the lock joins the
  condition's waiters and releases the lock, which goes to the lock's oldest
  waiter. (notify moves waiters from the condition to the lock's queue, so a
  waiter is next woken when it holds the lock again: see cond-notify-6.lua.)

  KEYS[1] state    (HASH)  the lock's "kind", "value", "fence", "seq"
  KEYS[2] holders  (HASH)  hold id -> "<fencing token> <since ms>"
  KEYS[3] queue    (ZSET)  ids waiting for the lock -> arrival number
  KEYS[4] leases   (ZSET)  session id -> lease expiry (ms)
  KEYS[5] sessions (HASH)  session id -> JSON { host, pid }
  KEYS[6] waiters  (ZSET)  ids waiting on the condition -> arrival number

  ARGV[1] msgpack { hold = the lock hold of the caller, waiter = the id it waits under,
                    done = prefix of the keys that remember answers, pub, channel }

  Returns 1, or 0 when the caller no longer holds the lock (its lease ran out: nothing changed);
  sent again after a lost reply, the first answer.
]]
-- @include sync-lib
local state, holders, queue, leases, sessions, waiters = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local o = cmsgpack.unpack(ARGV[1])
if rcall("HDEL", holders, o.hold) == 0 then
  return remembered(o.done, "wait:" .. o.waiter) or 0
end
rcall("ZADD", waiters, rcall("HINCRBY", state, "seq", 1), o.waiter)
if rcall("ZCARD", queue) > 0 then
  local now = nowMs()
  local dead = takeExpired(leases, sessions, now)
  if dead then
    dropSessions(state, holders, queue, dead)
  end
  grantWaiting(state, holders, queue, 1, now, o.pub, o.channel)
end
return remember(o.done, "wait:" .. o.waiter, 1)
