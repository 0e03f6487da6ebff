--[[
  Ends Condition waits early. "abort" (a wait's signal or timeout): a waiter
  not yet notified leaves the condition for the lock's queue, since asyncio's
  wait re-acquires the lock before it raises; one already notified stays
  notified (Redis's order decides the race). "drop" (the handle closes):
  every trace of the waiter goes, and a lock it was handed goes to the next.

  KEYS[1] state    (HASH)  the lock's "kind", "value", "fence", "seq"
  KEYS[2] holders  (HASH)  hold id -> "<fencing token> <since ms>"
  KEYS[3] queue    (ZSET)  ids waiting for the lock -> arrival number
  KEYS[4] leases   (ZSET)  session id -> lease expiry (ms)
  KEYS[5] sessions (HASH)  session id -> JSON { host, pid }
  KEYS[6] waiters  (ZSET)  ids waiting on the condition -> arrival number

  ARGV[1] msgpack { mode = "abort" | "drop", done = prefix of the keys that remember answers, pub, channel }
  ARGV[2...] ids

  Returns per id, for "abort": the fencing token (a string) when it holds the lock (it was
  notified), 0 when it waits for the lock after a notify, -1 when it was not notified and now
  waits for the lock; for "drop": 0. Sent again after a lost reply, the first answers.
]]
-- @include sync-lib
local state, holders, queue, leases, sessions, waiters = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local o = cmsgpack.unpack(ARGV[1])
local out = {}
for i = 2, #ARGV do
  local id = ARGV[i]
  local held = rcall("HGET", holders, id)
  local before = o.mode == "abort" and remembered(o.done, "cancel:" .. id)
  if before then
    out[i - 1] = before
  elseif o.mode == "drop" then
    rcall("HDEL", holders, id)
    rcall("ZREM", queue, id)
    rcall("ZREM", waiters, id)
    out[i - 1] = 0
  elseif held then
    out[i - 1] = string.match(held, "^%S+")
  elseif rcall("ZSCORE", queue, id) then
    out[i - 1] = 0
  else
    rcall("ZREM", waiters, id)
    rcall("ZADD", queue, rcall("HINCRBY", state, "seq", 1), id)
    out[i - 1] = remember(o.done, "cancel:" .. id, -1)
  end
end
local now = nowMs()
purgeAndGrant(state, holders, queue, leases, sessions, now, o.pub, o.channel)
grantWaiting(state, holders, queue, 1, now, o.pub, o.channel)
return out
