--[[
  Acquires a Lock or a Semaphore permit, FIFO-fair across every handle: an id
  holds at once only when nobody waits before it and a permit is free, else
  it joins the queue, and a release hands the permit to the queue's head in
  the same step (see release-5.lua). Also re-checks ids already queued (the
  slow safety re-check of a waiter that may have missed its message), and
  first drops the holds and waits of sessions whose lease ran out.

  KEYS[1] state    (HASH)  "kind", "value", "extra" (permits added by releases of non-holders),
                           "fence" (last fencing token), "seq" (arrival counter)
  KEYS[2] holders  (HASH)  hold id -> "<fencing token> <since ms>"
  KEYS[3] queue    (ZSET)  waiting id -> arrival number
  KEYS[4] leases   (ZSET)  session id -> lease expiry (ms)
  KEYS[5] sessions (HASH)  session id -> JSON { host, pid }

  ARGV[1] msgpack { kind = "lock" | "semaphore" | "bounded", value, session, leaseMs,
                    info (JSON), pub = "PUBLISH" | "SPUBLISH", channel,
                    fresh = 1 when the ids were never sent before,
                    holding = 1 when the handle holds a permit (then a lease found missing was lost) }
  ARGV[2...] ids of this session's waits

  Returns { 0, kind, value } when the primitive exists as another kind or with another value;
  else { 1, ms until the first lease runs out (-1: none, or nobody waits), 1 when the handle held
  permits under a lease that ran out (they went to others) else 0, result per id },
  a result being the fencing token (a string) when the id holds a permit, or 0 while it waits.
]]
-- @include sync-lib
local state, holders, queue, leases, sessions = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local o = cmsgpack.unpack(ARGV[1])
local f = rcall("HMGET", state, "kind", "value", "extra")
if not f[1] then
  -- The first handle fixes the kind and value (releases by non-holders may have added permits already).
  rcall("HSET", state, "kind", o.kind, "value", o.value)
  f = { o.kind, o.value, f[3] }
elseif f[1] ~= o.kind or tonumber(f[2]) ~= o.value then
  return { 0, f[1], tonumber(f[2]) or 0 }
end
local capacity = tonumber(f[2]) + (tonumber(f[3]) or 0)
local now = nowMs()
purgeAndGrant(state, holders, queue, leases, sessions, now, o.pub, o.channel)
local lost = keepAlive(leases, sessions, o.session, now, o.leaseMs, o.info) and o.holding == 1

local out = { 1, -1, lost and 1 or 0 }
local waiting = false
for i = 2, #ARGV do
  local id = ARGV[i]
  local held = o.fresh ~= 1 and rcall("HGET", holders, id)
  if held then
    out[#out + 1] = string.match(held, "^%S+")
  elseif o.fresh ~= 1 and rcall("ZSCORE", queue, id) then
    out[#out + 1] = 0
    waiting = true
  elseif rcall("ZCARD", queue) == 0 and rcall("HLEN", holders) < capacity then
    local token = tokenString(tokenAfter(tonumber(rcall("HGET", state, "fence")) or 0, now))
    rcall("HSET", state, "fence", token)
    rcall("HSET", holders, id, token .. " " .. now)
    out[#out + 1] = token
  else
    -- A first try sent again (its reply was lost to a reconnect) may hold or wait already.
    local again = o.fresh == 1 and rcall("HGET", holders, id)
    if again then
      out[#out + 1] = string.match(again, "^%S+")
    else
      rcall("ZADD", queue, "NX", rcall("HINCRBY", state, "seq", 1), id)
      out[#out + 1] = 0
      waiting = true
    end
  end
end
if waiting then
  out[2] = nextExpiryIn(leases, now)
end
return out
