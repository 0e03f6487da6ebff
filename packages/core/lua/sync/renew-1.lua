--[[
  Renews a session's lease on one primitive, by Redis's clock, only if it
  still exists: a session whose lease ran out (and whose holds were dropped)
  learns that it lost them.

  KEYS[1] leases (ZSET) session id -> lease expiry (ms)

  ARGV[1] msgpack { session, leaseMs }

  Returns 1 when renewed, 0 when the session's lease no longer exists.
]]
-- @include sync-lib
local o = cmsgpack.unpack(ARGV[1])
if not rcall("ZSCORE", KEYS[1], o.session) then
  return 0
end
rcall("ZADD", KEYS[1], nowMs() + o.leaseMs, o.session)
return 1
