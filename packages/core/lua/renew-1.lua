--[[
  Renews a consumer handle's lease, by Redis's clock, only if it still exists:
  a handle whose lease expired and was reclaimed learns that its tasks are gone.

  KEYS[1] leases  (ZSET)  lease id -> expiry (ms)

  ARGV[1] lease id
  ARGV[2] lease duration in ms

  Returns 1 when renewed, 0 when the lease no longer exists.
]]
-- @include queue-lib
if not rcall("ZSCORE", KEYS[1], ARGV[1]) then
  return 0
end
rcall("ZADD", KEYS[1], nowMs() + tonumber(ARGV[2]), ARGV[1])
return 1
