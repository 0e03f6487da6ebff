--[[
  Renews a session's lease on one primitive, by Redis's clock, only if it
  still exists: a session whose lease ran out (and whose holds were dropped)
  learns that it lost them.

  With `known`, it also drops the holds of this session that the handle does
  not know of, and hands them on: a release acknowledged by a master that died
  before its replica saw it comes back after the failover as a hold nobody
  has, and the handle's own renewals would keep it (and every waiter behind
  it) forever. The handle lists every id it holds, waits for or is still
  settling, so a grant on its way to it is never taken for one.

  KEYS[1] state    (HASH)  "kind", "value", "extra", "fence", "seq"
  KEYS[2] holders  (HASH)  hold id -> "<fencing token> <since ms>"
  KEYS[3] queue    (ZSET)  waiting id -> arrival number
  KEYS[4] leases   (ZSET)  session id -> lease expiry (ms)
  KEYS[5] sessions (HASH)  session id -> JSON { host, pid }

  ARGV[1] msgpack { session, leaseMs, known = 1 when ARGV[2...] list the handle's ids, pub, channel }
  ARGV[2...] the ids the handle holds, waits for, or has a script about on its way

  Returns 1 when renewed, 0 when the session's lease no longer exists.
]]
-- @include sync-lib
local state, holders, queue, leases = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local o = cmsgpack.unpack(ARGV[1])
if not rcall("ZSCORE", leases, o.session) then
  return 0
end
local now = nowMs()
rcall("ZADD", leases, now + o.leaseMs, o.session)
if o.known == 1 then
  local known = {}
  for i = 2, #ARGV do
    known[ARGV[i]] = true
  end
  local unknown = {}
  for _, id in ipairs(rcall("HKEYS", holders)) do
    if sessionOf(id) == o.session and not known[id] then
      unknown[#unknown + 1] = id
    end
  end
  if #unknown > 0 then
    rcall("HDEL", holders, unpack(unknown))
    keepBoundedWithin(state, holders)
    grantWaiting(state, holders, queue, capacityOf(state), now, o.pub, o.channel)
  end
end
return 1
