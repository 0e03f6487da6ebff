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

  ARGV[1] msgpack { session, leaseMs, info, pub, channel }
  ARGV[2...] ids

  Returns { ms until the first lease runs out (-1: none), result per id }, a result being the
  fencing token (a string) when the id holds the lock, 0 while it waits for the lock (notified),
  -1 while it waits for a notify.
]]
-- @include sync-lib
local state, holders, queue, leases, sessions, waiters = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local o = cmsgpack.unpack(ARGV[1])
local now = nowMs()
purgeAndGrant(state, holders, queue, leases, sessions, now, o.pub, o.channel)
keepAlive(leases, sessions, o.session, now, o.leaseMs, o.info)
local out = { nextExpiryIn(leases, now) }
for i = 2, #ARGV do
  local id = ARGV[i]
  local held = rcall("HGET", holders, id)
  if held then
    out[i] = string.match(held, "^%S+")
  elseif rcall("ZSCORE", queue, id) then
    out[i] = 0
  elseif rcall("ZSCORE", waiters, id) then
    out[i] = -1
  else
    rcall("ZADD", queue, rcall("HINCRBY", state, "seq", 1), id)
    out[i] = 0
  end
end
grantWaiting(state, holders, queue, 1, now, o.pub, o.channel)
for i = 2, #ARGV do
  if out[i] == 0 then
    local held = rcall("HGET", holders, ARGV[i])
    if held then
      out[i] = string.match(held, "^%S+")
    end
  end
end
return out
