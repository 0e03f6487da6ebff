--[[
  The slow safety re-check of Condition waiters (who may have missed their
  grant message): where each one is. Also drops the holds and waits of
  sessions whose lease ran out, granting what that frees, and keeps the
  caller's session alive. An id found nowhere (its session's lease ran out
  while it waited) joins the lock's queue: it wakes as if notified, which a
  waitFor loop tolerates, rather than never.

  KEYS[1] state    (HASH)  the lock's "kind", "value", "fence", "seq"
  KEYS[2] holders  (HASH)  hold id -> "<fencing token> <since ms>"
  KEYS[3] queue    (ZSET)  ids waiting for the lock -> arrival number
  KEYS[4] leases   (ZSET)  session id -> lease expiry (ms)
  KEYS[5] sessions (HASH)  session id -> JSON { host, pid }
  KEYS[6] waiters  (ZSET)  ids waiting on the condition -> arrival number

  ARGV[1] msgpack { session, leaseMs, info, pub, channel, holding = 1 when the handle holds the
                    lock (then a lease found missing was lost) }
  ARGV[2...] ids

  Returns { ms until the first lease runs out (-1: none), 1 when the handle held the lock under a
  lease that ran out else 0, result per id }, a result being the
  fencing token (a string) when the id holds the lock, 0 while it waits for the lock (notified),
  -1 while it waits for a notify.
]]
-- @include sync-lib
local state, holders, queue, leases, sessions, waiters = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local o = cmsgpack.unpack(ARGV[1])
local now = nowMs()
purgeAndGrant(state, holders, queue, leases, sessions, now, o.pub, o.channel)
local lost = keepAlive(leases, sessions, o.session, now, o.leaseMs, o.info) and o.holding == 1
local out = { nextExpiryIn(leases, now), lost and 1 or 0 }
for i = 2, #ARGV do
  local id = ARGV[i]
  local held = rcall("HGET", holders, id)
  if held then
    out[i + 1] = string.match(held, "^%S+")
  elseif rcall("ZSCORE", queue, id) then
    out[i + 1] = 0
  elseif rcall("ZSCORE", waiters, id) then
    out[i + 1] = -1
  else
    rcall("ZADD", queue, rcall("HINCRBY", state, "seq", 1), id)
    out[i + 1] = 0
  end
end
grantWaiting(state, holders, queue, 1, now, o.pub, o.channel)
for i = 2, #ARGV do
  if out[i + 1] == 0 then
    local held = rcall("HGET", holders, ARGV[i])
    if held then
      out[i + 1] = string.match(held, "^%S+")
    end
  end
end
return out
