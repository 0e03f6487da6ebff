--[[
  Releases a Lock or a Semaphore permit and hands it to the oldest waiter in
  the same step (recorded as the holder, told on the channel). A release by a
  handle holding no permit adds one to a Semaphore (asyncio's counter), and
  is refused by a BoundedSemaphore already at its value.

  KEYS[1] state    (HASH)  "kind", "value", "extra", "fence", "seq"
  KEYS[2] holders  (HASH)  hold id -> "<fencing token> <since ms>"
  KEYS[3] queue    (ZSET)  waiting id -> arrival number
  KEYS[4] leases   (ZSET)  session id -> lease expiry (ms)
  KEYS[5] sessions (HASH)  session id -> JSON { host, pid }

  ARGV[1] msgpack { hold = the hold id, or "" for a release by a handle holding none,
                    id = the hold id, or a fresh id for a release by a handle holding none,
                    mode = "lock" | "semaphore" | "bounded", done = prefix of the keys that
                    remember answers, pub, channel }

  Returns 1 when released; 0 when the hold is no longer recorded (its lease ran out: nothing
  was changed); -1 when a BoundedSemaphore would pass its value (for a holder, its permit was
  already given back by another handle's release, and its hold is dropped). A release sent
  again (its reply was lost to a reconnect) gets the first answer (see remember()).
]]
-- @include sync-lib
local state, holders, queue, leases, sessions = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local o = cmsgpack.unpack(ARGV[1])
local result = 1
if o.hold ~= "" then
  if rcall("HDEL", holders, o.hold) == 0 then
    return remembered(o.done, "release:" .. o.id) or 0
  end
  if o.mode == "bounded" and (tonumber(rcall("HGET", state, "extra")) or 0) > rcall("HLEN", holders) then
    rcall("HINCRBY", state, "extra", -1)
    result = -1
  end
else
  local before = remembered(o.done, "release:" .. o.id)
  if before then
    return before
  end
  if o.mode == "bounded" and (tonumber(rcall("HGET", state, "extra")) or 0) >= rcall("HLEN", holders) then
    return remember(o.done, "release:" .. o.id, -1)
  end
  rcall("HINCRBY", state, "extra", 1)
end
if rcall("ZCARD", queue) > 0 then
  local now = nowMs()
  local dead = takeExpired(leases, sessions, now)
  if dead then
    dropSessions(state, holders, queue, dead)
  end
  grantWaiting(state, holders, queue, capacityOf(state), now, o.pub, o.channel)
end
return remember(o.done, "release:" .. o.id, result)
