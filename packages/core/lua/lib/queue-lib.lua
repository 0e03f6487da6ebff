--[[
  Helpers shared by asyncq's scripts, inserted where a script says
  "-- @include queue-lib". Every key they touch shares the queue's hash tag
  with the script's declared keys, so they stay within one cluster slot.
]]
local rcall = redis.call

-- Redis's clock, in ms: one clock for every process, whatever their skew.
local function nowMs()
  local t = rcall("TIME")
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- What join waits for: no ready, delayed, held, stalled (waiting for room) or (BullMQ)
-- waiting-children task. Checked after every acknowledgement batch while a joiner waits, so it
-- stops at the first non-empty key: while tasks wait, that costs one LLEN.
local function nothingUnfinished(wait, paused, prioritized, delayed, active, waitingChildren, stalled)
  return rcall("LLEN", wait) == 0 and rcall("LLEN", active) == 0 and rcall("LLEN", stalled) == 0
    and rcall("LLEN", paused) == 0 and rcall("ZCARD", prioritized) == 0
    and rcall("ZCARD", delayed) == 0 and rcall("ZCARD", waitingChildren) == 0
end

-- What maxsize bounds: ready and delayed tasks.
local function pendingCount(wait, paused, prioritized, delayed)
  return rcall("LLEN", wait) + rcall("LLEN", paused) + rcall("ZCARD", prioritized) + rcall("ZCARD", delayed)
end

-- Publishes on the queue's channel only while some handle announced interest
-- (the flag key), so a queue nobody waits on pays one EXISTS and no PUBLISH.
local function signalIfWanted(flagKey, pub, channel, message)
  if rcall("EXISTS", flagKey) == 1 then
    rcall(pub, channel, message)
    return true
  end
  return false
end

local function removeJobKeys(prefix, id)
  rcall("DEL", prefix .. id, prefix .. id .. ":logs")
end

-- Keeps the newest `keep` ids of a finished set (score = finish time) and deletes the rest, in
-- chunks: it lets the set grow a little past `keep` (a tenth, at most 64) and then trims it back
-- with one ZPOPMIN and one DEL, instead of a trim per finished task.
local function trimFinished(setKey, prefix, keep)
  local slack = math.min(64, math.floor(keep / 10))
  local excess = rcall("ZCARD", setKey) - keep
  if excess > slack then
    local old = rcall("ZPOPMIN", setKey, excess)
    local doomed = {}
    for i = 1, #old, 2 do
      doomed[#doomed + 1] = prefix .. old[i]
      doomed[#doomed + 1] = prefix .. old[i] .. ":logs"
    end
    rcall("DEL", unpack(doomed))
  end
end

-- Puts job `id` among the ready tasks, in BullMQ's layout: a priority goes to
-- the prioritized ZSET (score priority * 2^32 + counter, or counter 0 to be next
-- of its class), else the wait list (LPUSH is the back, RPUSH the front).
local function pushReady(wait, prioritized, pc, id, priority, front, lifo)
  if priority > 0 then
    local seq = 0
    if not front then
      seq = rcall("INCR", pc) % 0x100000000
    end
    rcall("ZADD", prioritized, priority * 0x100000000 + seq, id)
  elseif front or lifo then
    rcall("RPUSH", wait, id)
  else
    rcall("LPUSH", wait, id)
  end
end

-- The same for a job already stored: its priority is read from its hash.
local function makeReady(prefix, wait, prioritized, pc, id, front, lifo)
  pushReady(wait, prioritized, pc, id, tonumber(rcall("HGET", prefix .. id, "priority")) or 0, front, lifo)
end

-- BullMQ's delayed score: the due time in ms times 0x1000 plus an order within that ms.
local function delayedScore(delayed, dueAt)
  local low = dueAt * 0x1000
  local high = low + 0xfff
  local last = rcall("ZREVRANGEBYSCORE", delayed, high, low, "WITHSCORES", "LIMIT", 0, 1)
  if last[2] then
    return math.min(tonumber(last[2]) + 1, high)
  end
  return low
end

-- Marks job `id` failed for good: kept in the failed set (a dead letter) up to `keep`.
local function failForGood(prefix, failed, stats, id, reason, now, keep)
  rcall("HSET", prefix .. id, "failedReason", reason, "finishedOn", now)
  rcall("HINCRBY", stats, "failed", 1)
  if keep > 0 then
    rcall("ZADD", failed, now, id)
    trimFinished(failed, prefix, keep)
  else
    removeJobKeys(prefix, id)
  end
end

-- Room under the maxsize producers last used (recorded in the state hash), for tasks coming back
-- from a consumer: huge when the queue is unbounded.
local function roomUnderMaxsize(state, wait, paused, prioritized, delayed, stalled)
  local maxsize = tonumber(rcall("HGET", state, "maxsize")) or 0
  if maxsize <= 0 then return math.huge end
  return maxsize - pendingCount(wait, paused, prioritized, delayed) - rcall("LLEN", stalled)
end

-- A task coming back from a consumer (crashed, handing it back, or retrying a failed attempt):
-- ready again (at the front, or the back for a retry), or, when that would put more than maxsize
-- tasks in the queue, into the stalled list, from which it becomes ready ahead of any new put as
-- soon as there is room. Returns the room left.
local function comeBack(prefix, keys, id, room, front, lifo)
  if room > 0 then
    makeReady(prefix, keys.wait, keys.prioritized, keys.pc, id, front, lifo)
  else
    rcall("LPUSH", keys.stalled, id)
  end
  return room - 1
end

-- Stalled tasks become ready (at the front, oldest first) as far as maxsize allows.
-- Returns how many became ready.
local function releaseStalled(prefix, keys, lifo)
  local n = rcall("LLEN", keys.stalled)
  if n == 0 then return 0 end
  local room = math.min(n, roomUnderMaxsize(keys.state, keys.wait, keys.paused, keys.prioritized, keys.delayed, keys.stalled) + n)
  if room <= 0 then return 0 end
  -- The oldest are at the tail; pushing them newest first leaves the oldest at the very front.
  local ids = rcall("LRANGE", keys.stalled, -room, -1)
  rcall("LTRIM", keys.stalled, 0, -room - 1)
  for i = 1, #ids do
    makeReady(prefix, keys.wait, keys.prioritized, keys.pc, ids[i], true, lifo)
  end
  return #ids
end

-- Returns the tasks of an expired lease to the queue (to the front, as BullMQ's
-- stalled checker does, or to the stalled list when the queue is at maxsize), counting
-- a stall on each; past maxStalls a task fails for good. Returns how many went back.
local function reclaimLease(prefix, keys, leaseId, maxStalls, keepFailed, lifo, now)
  local heldKey = prefix .. "aq:held:" .. leaseId
  local ids = rcall("SMEMBERS", heldKey)
  local ready = 0
  local room = roomUnderMaxsize(keys.state, keys.wait, keys.paused, keys.prioritized, keys.delayed, keys.stalled)
  for _, id in ipairs(ids) do
    if rcall("LREM", keys.active, -1, id) > 0 then
      if rcall("EXISTS", prefix .. id) == 1 then
        local stalls = rcall("HINCRBY", prefix .. id, "stc", 1)
        if stalls > maxStalls then
          failForGood(prefix, keys.failed, keys.stats, id,
            "the task lost its consumer " .. stalls .. " times (maxStalls " .. maxStalls .. ")", now, keepFailed)
        else
          room = comeBack(prefix, keys, id, room, true, lifo)
          ready = ready + 1
        end
      end
    end
  end
  rcall("DEL", heldKey)
  rcall("ZREM", keys.leases, leaseId)
  rcall("HINCRBY", keys.stats, "reclaimed", #ids)
  return ready
end
