--[[
  A handle closes: everything its session held goes to the oldest waiters at
  once (not after the lease), and its waits are withdrawn.

  KEYS[1] state    (HASH)  "kind", "value", "extra", "fence", "seq"
  KEYS[2] holders  (HASH)  hold id -> "<fencing token> <since ms>"
  KEYS[3] queue    (ZSET)  waiting id -> arrival number
  KEYS[4] leases   (ZSET)  session id -> lease expiry (ms)
  KEYS[5] sessions (HASH)  session id -> JSON { host, pid }

  ARGV[1] msgpack { session, pub, channel }

  Returns 1.
]]
-- @include sync-lib
local state, holders, queue, leases, sessions = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local o = cmsgpack.unpack(ARGV[1])
local now = nowMs()
local gone = forget(leases, sessions, { o.session })
local dead = takeExpired(leases, sessions, now)
if dead then
  for s in pairs(dead) do
    gone[s] = true
  end
end
if dropSessions(state, holders, queue, gone) then
  grantWaiting(state, holders, queue, capacityOf(state), now, o.pub, o.channel)
end
return 1
