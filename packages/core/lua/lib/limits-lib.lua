--[[
  Rate and concurrency limits, inserted where a script says "-- @include limits-lib" (after
  queue-lib). Limits live in the queue's meta HASH (written by queue-limits.ts):
    concurrency    most tasks held at once, cluster-wide (BullMQ's setGlobalConcurrency field)
    max, duration  most tasks reserved in any `duration` ms (BullMQ's global rate limit fields)
    aq:rateUntil   Redis time (ms) before which the rate limit lets nothing through (RateLimited)
  A task counts against `concurrency` while it is in the active list: from its reservation until it
  is acknowledged, failed or handed back, or until its holder's lease expires and the reclaim takes
  it back, so a crashed holder's slots come back with its tasks and no counter can leak.
  The rate window is a ZSET "aq:rate" of reservations, trimmed to the last `duration` ms: exact in
  any window, not only in fixed ones. Each reservation counts from its Redis time plus a margin
  (REPLY_MARGIN of the window, at most MAX_MARGIN_MS): a reply that reaches its worker late starts
  its handlers late, and without the margin the next window's tasks could start within `duration`
  of them. So the handlers' own start times keep the limit, at the cost of a saturated queue
  running at max / (duration + margin).
]]

local REPLY_MARGIN = 0.1
local MAX_MARGIN_MS = 200

local function marginOf(duration)
  return math.min(MAX_MARGIN_MS, math.floor(duration * REPLY_MARGIN))
end

-- The ZSET of reservations in the current rate window.
local function rateKey(prefix)
  return prefix .. "aq:rate"
end

-- How many tasks a call that wants `wanted` (its gets' and those it fetches ahead: the gets' come
-- first in the order reserved) may reserve now, and when the rate window reopens if it is full (0:
-- it is not). A task fetched ahead holds a slot as a running one does, and is counted in the rate's
-- window as starting by the reply's margin: the client hands it back unrun past that.
-- `meta` is the HMGET of consume-18.lua.
local function limitsAllow(prefix, k, meta, wanted, now)
  local cap, reopenAt = wanted, 0
  local concurrency = tonumber(meta[2])
  if concurrency then
    cap = math.max(0, math.min(cap, concurrency - rcall("LLEN", k.active)))
  end
  local max, duration = tonumber(meta[3]), tonumber(meta[4])
  if max and duration and cap > 0 then
    local pausedUntil = tonumber(meta[5]) or 0
    if pausedUntil > now then
      return 0, pausedUntil
    end
    local window = rateKey(prefix)
    rcall("ZREMRANGEBYSCORE", window, "-inf", now - duration)
    local n = rcall("ZCARD", window)
    if n >= max then
      local first = rcall("ZRANGE", window, n - max, n - max, "WITHSCORES")
      return 0, tonumber(first[2]) + duration + 1
    end
    cap = math.min(cap, max - n)
  end
  return cap, reopenAt
end

-- Records the reservations `ids` in the rate window. Returns when the window reopens if they
-- filled it and the call got fewer than it wanted (0 otherwise).
local function countReserved(prefix, meta, ids, wanted, now)
  local max, duration = tonumber(meta[3]), tonumber(meta[4])
  if not (max and duration) then return 0 end
  local window = rateKey(prefix)
  local members = {}
  local at = now + marginOf(duration)
  for i, id in ipairs(ids) do
    members[#members + 1] = at
    members[#members + 1] = id .. "@" .. now .. "#" .. i
  end
  rcall("ZADD", window, unpack(members))
  rcall("PEXPIRE", window, duration + marginOf(duration) + 1000)
  if #ids >= wanted then return 0 end
  local n = rcall("ZCARD", window)
  if n < max then return 0 end
  local first = rcall("ZRANGE", window, n - max, n - max, "WITHSCORES")
  return tonumber(first[2]) + duration + 1
end

-- Slots came free under a concurrency limit: idle consumers try again, if anything is ready.
local function slotsFreed(k, o)
  if rcall("LLEN", k.wait) + rcall("ZCARD", k.prioritized) > 0 then
    wakeConsumers(k, o)
  end
end

-- A handler threw RateLimited: a queue with a rate limit lets nothing through until `untilMs`
-- (the partner said so; the other workers would only hear the same). The meta key shares the
-- script's hash tag. A queue without a rate limit only delays the task.
local function pauseRateWindow(prefix, untilMs)
  local meta = prefix .. "meta"
  if rcall("HEXISTS", meta, "max") == 1 then
    local before = tonumber(rcall("HGET", meta, "aq:rateUntil")) or 0
    if untilMs > before then rcall("HSET", meta, "aq:rateUntil", untilMs) end
  end
end

-- A consume call came again (its reply was lost: a dropped connection, a Redis restart) after
-- more than the margin since it reserved: under a rate limit its tasks would start outside the
-- window they were counted in, so they go back to the front of the queue instead (still counted
-- in that window: never more starts than the limit, at worst fewer).
local function lateForRate(prefix, k, prior, now)
  if not prior.at then return false end
  local m = rcall("HMGET", k.meta, "max", "duration")
  local duration = tonumber(m[2])
  return m[1] ~= false and duration ~= nil and now - prior.at > marginOf(duration)
end
