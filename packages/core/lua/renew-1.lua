#!lua flags=allow-oom
--[[
  Renews a consumer handle's lease, by Redis's clock, only if it still exists:
  a handle whose lease expired and was reclaimed learns that its tasks are gone.
  It also hands over the cancels of tasks held under the lease that the handle
  has not heard of (the revoked hash; see cancel-12.lua), so a handle that missed
  the message learns of them within a third of a lease.

  KEYS[1]  leases (ZSET) lease id -> expiry (ms)

  ARGV[1]  options (msgpack map):
           prefix        job key prefix
           lease         the lease id
           leaseMs       lease duration in ms

  Returns { 1, cancelled } when renewed, where cancelled is a flat list of id, JSON { reason, by },
  or { 0 } when the lease no longer exists.
]]
-- @include queue-lib
local k = { leases = KEYS[1] }
local o = options()
if not rcall("ZSCORE", k.leases, o.lease) then
  return { 0 }
end
rcall("ZADD", k.leases, nowMs() + o.leaseMs, o.lease)
return { 1, takeRevoked(o.prefix, o.lease) }
