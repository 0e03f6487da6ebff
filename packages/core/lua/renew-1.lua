#!lua flags=allow-oom
--[[
  Renews a consumer handle's lease, by Redis's clock, only if it still exists:
  a handle whose lease expired and was reclaimed learns that its tasks are gone.

  KEYS[1]  leases (ZSET) lease id -> expiry (ms)

  ARGV[1]  options (msgpack map):
           lease         the lease id
           leaseMs       lease duration in ms

  Returns 1 when renewed, 0 when the lease no longer exists.
]]
-- @include queue-lib
local k = { leases = KEYS[1] }
local o = options()
if not rcall("ZSCORE", k.leases, o.lease) then
  return 0
end
rcall("ZADD", k.leases, nowMs() + o.leaseMs, o.lease)
return 1
