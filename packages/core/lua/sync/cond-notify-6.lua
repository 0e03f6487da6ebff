--[[
  Condition.notify(n): moves up to n of the condition's oldest waiters whose
  process is alive to the back of the lock's queue. The caller holds the lock,
  so they run once it is released to them, each holding the lock again.

  KEYS[1] state    (HASH)  the lock's "seq"
  KEYS[2] holders  (HASH)  hold id -> "<fencing token> <since ms>"
  KEYS[3] queue    (ZSET)  ids waiting for the lock -> arrival number
  KEYS[4] leases   (ZSET)  session id -> lease expiry (ms)
  KEYS[5] sessions (HASH)  session id -> JSON { host, pid }
  KEYS[6] waiters  (ZSET)  ids waiting on the condition -> arrival number

  ARGV[1] msgpack { hold = the lock hold of the caller, n = how many to wake, id = a fresh id of
                    this notify, done = prefix of the keys that remember answers }

  Returns how many were woken, or -1 when the caller no longer holds the lock (nothing changed);
  sent again after a lost reply, the first answer (nobody is woken twice).
]]
-- @include sync-lib
local state, holders, queue, leases, waiters = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[6]
local o = cmsgpack.unpack(ARGV[1])
local before = remembered(o.done, "notify:" .. o.id)
if before then
  return before
end
if rcall("HEXISTS", holders, o.hold) == 0 then
  return -1
end
local now = nowMs()
local woken = 0
while woken < o.n do
  local head = rcall("ZPOPMIN", waiters, 1)
  if #head == 0 then
    break
  end
  local expiry = rcall("ZSCORE", leases, sessionOf(head[1]))
  -- A waiter whose process died is dropped, and the notification goes to the next one.
  if expiry and tonumber(expiry) > now then
    rcall("ZADD", queue, rcall("HINCRBY", state, "seq", 1), head[1])
    woken = woken + 1
  end
end
return remember(o.done, "notify:" .. o.id, woken)
