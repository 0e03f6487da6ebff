--[[
  Helpers shared by the scripts of asyncq's coordination primitives (Lock,
  Semaphore, Condition, Barrier), inserted where a script says
  "-- @include sync-lib". They touch only keys the script passes them, all
  under one primitive's hash tag, so they stay within one cluster slot.

  Ids: a handle's session id is hex; each hold or wait of that handle is
  "<session>.<n>", so whatever a dead session held or waited for is found by
  its prefix. A session is alive while its lease (a ZSET score) lies ahead of
  Redis's clock; the handle renews it while it holds or waits.
]]
local rcall = redis.call

-- Redis's clock, in ms: one clock for every process, whatever their skew.
local function nowMs()
  local t = rcall("TIME")
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function sessionOf(id)
  return string.match(id, "^([^.]+)%.")
end

-- The sessions named in `dead` (a list) taken out of `leases` and `sessions`, as a set.
local function forget(leases, sessions, dead)
  rcall("ZREM", leases, unpack(dead))
  rcall("HDEL", sessions, unpack(dead))
  local set = {}
  for _, s in ipairs(dead) do
    set[s] = true
  end
  return set
end

-- Sessions whose lease ran out by `now`, forgotten, as a set; nil when there are none.
local function takeExpired(leases, sessions, now)
  local dead = rcall("ZRANGEBYSCORE", leases, "-inf", now, "LIMIT", 0, 100)
  if #dead == 0 then
    return nil
  end
  return forget(leases, sessions, dead)
end

-- Removes the fields of HASH `key` owned by the sessions in `set`; returns how many.
local function dropOwnedFields(key, set)
  local n = 0
  for _, id in ipairs(rcall("HKEYS", key)) do
    if set[sessionOf(id)] then
      rcall("HDEL", key, id)
      n = n + 1
    end
  end
  return n
end

-- Removes the members of ZSET `key` owned by the sessions in `set`; returns how many.
local function dropOwnedMembers(key, set)
  local n = 0
  for _, id in ipairs(rcall("ZRANGE", key, 0, -1)) do
    if set[sessionOf(id)] then
      rcall("ZREM", key, id)
      n = n + 1
    end
  end
  return n
end

-- Keeps `session` alive for `leaseMs` more, recording who it is when it is new. Returns true when
-- it was not alive: a handle that holds something then learns its lease ran out (and its holds went).
local function keepAlive(leases, sessions, session, now, leaseMs, info)
  if rcall("ZADD", leases, now + leaseMs, session) == 1 then
    rcall("HSET", sessions, session, info)
    return true
  end
  return false
end

-- ms until the first lease of the primitive runs out (when a waiter should look again), -1 for none.
local function nextExpiryIn(leases, now)
  local first = rcall("ZRANGE", leases, 0, 0, "WITHSCORES")
  if #first == 0 then
    return -1
  end
  return math.max(0, tonumber(first[2]) - now)
end

-- The next fencing token after `last`: above every token given before, and at least Redis's clock
-- in ms times 1000, so tokens keep rising even when a failover or a restart lost the last ones.
local function tokenAfter(last, now)
  return math.max(last + 1, now * 1000)
end

local function tokenString(t)
  return string.format("%.0f", t)
end

-- Hands free permits to the oldest waiters, each recorded as a holder in the same step as it is
-- taken from the queue, and tells each one on the channel ("g <id> <token>").
local function grantWaiting(state, holders, queue, capacity, now, pub, channel)
  local free = capacity - rcall("HLEN", holders)
  if free <= 0 then
    return
  end
  local heads = rcall("ZPOPMIN", queue, free)
  if #heads == 0 then
    return
  end
  local last = tonumber(rcall("HGET", state, "fence")) or 0
  for i = 1, #heads, 2 do
    last = tokenAfter(last, now)
    local token = tokenString(last)
    rcall("HSET", holders, heads[i], token .. " " .. now)
    rcall(pub, channel, "g " .. heads[i] .. " " .. token)
  end
  rcall("HSET", state, "fence", tokenString(last))
end

-- How many permits the primitive has in all: its value plus what releases by non-holders added.
local function capacityOf(state)
  local f = rcall("HMGET", state, "value", "extra")
  return (tonumber(f[1]) or 1) + (tonumber(f[2]) or 0)
end

-- Holds were dropped: a BoundedSemaphore keeps its added permits no more than its holders, so
-- that it never passes its value.
local function keepBoundedWithin(state, holders)
  if rcall("HGET", state, "kind") == "bounded" then
    local held = rcall("HLEN", holders)
    if (tonumber(rcall("HGET", state, "extra")) or 0) > held then
      rcall("HSET", state, "extra", held)
    end
  end
end

-- Drops what the sessions in `set` held or waited for (see keepBoundedWithin). True when anything was dropped.
local function dropSessions(state, holders, queue, set)
  local freed = dropOwnedFields(holders, set)
  local unqueued = dropOwnedMembers(queue, set)
  if freed > 0 then
    keepBoundedWithin(state, holders)
  end
  return freed + unqueued > 0
end

-- Drops the holds and waits of sessions whose lease ran out, then grants what that freed.
local function purgeAndGrant(state, holders, queue, leases, sessions, now, pub, channel)
  local dead = takeExpired(leases, sessions, now)
  if dead and dropSessions(state, holders, queue, dead) then
    grantWaiting(state, holders, queue, capacityOf(state), now, pub, channel)
  end
end

-- A Barrier that drains or resets fills again once its last party has left.
local function barrierExited(state, members, pub, channel)
  if rcall("ZCARD", members) == 0 then
    local phase = rcall("HGET", state, "phase")
    if phase == "draining" or phase == "resetting" then
      rcall("HSET", state, "phase", "filling")
      rcall(pub, channel, "b filling")
    end
  end
end

-- A reply lost on the wire is sent again by the client once it reconnects. A step that must not
-- happen twice records its answer for a minute under the id it was sent with (a key of the
-- primitive's hash tag: `donePrefix .. id`), and a resent call gets that answer back instead.
local function remembered(donePrefix, id)
  local r = rcall("GET", donePrefix .. id)
  if r then
    return cjson.decode(r)
  end
  return nil
end

local function remember(donePrefix, id, reply)
  rcall("SET", donePrefix .. id, cjson.encode(reply), "PX", 60000)
  return reply
end
