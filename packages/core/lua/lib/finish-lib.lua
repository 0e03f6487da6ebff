--[[
  The finishing half of queue-lib, inserted into it where it says "-- @include finish-lib"
  (so every script that includes queue-lib has it): telling result waiters which tasks
  finished in this script (one "fin:" message), failing a task for good with the later parts
  of its flow, a task coming back from a consumer (ready again, or stalled at maxsize), and
  starting a flow's next step (a chain's next step, a chord's callback once its group
  completed). Keys come in the `k` table, as for queue-lib.
]]
--[[
  Tasks that finished in this script, for result waiters (announced with the want-result flag):
  `tellFinished` publishes them in one message, "fin:" and a JSON array of [id] or [id, result]
  entries; a small result travels in the message, so a waiter needs no read for it.
]]
local finishedNow = {}

--[[
  History: per-minute and per-hour rollups of the tasks that finished, in HASHes beside the job
  hashes (same hash tag), "aq:hist:m:<minute since the epoch>" kept 25 hours and
  "aq:hist:h:<hour since the epoch>" kept 31 days. Fields: "f" failed for good, "b1".."b15"
  completed tasks by run time (processedOn to finish) in fixed buckets, bucket i holding run times
  up to HISTORY_BOUNDS[i] ms and b15 the longer ones; the completed count is their sum (rollups
  written before 2026-12-07 also have it in "c"). Tasks are counted as they finish (noteRunTime,
  failForGood) and written once per script call (tellFinished): one HINCRBY per rollup and bucket
  used, and the EXPIRE only with a field's first count, since every call into Redis from a script
  costs its CPU (at one task per call, these were 7 of its 33 calls).
]]
local HISTORY_BOUNDS = { 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000 }
local historyNow = { c = 0, f = 0, b = {} }

local function noteRunTime(ms)
  historyNow.c = historyNow.c + 1
  local i = #HISTORY_BOUNDS + 1
  for j, bound in ipairs(HISTORY_BOUNDS) do
    if ms <= bound then
      i = j
      break
    end
  end
  historyNow.b[i] = (historyNow.b[i] or 0) + 1
end

-- Adds `n` to `field` of rollup `key`; true when that was the field's first count (the key may be new).
local function countInto(key, field, n)
  return rcall("HINCRBY", key, field, n) == n
end

local function writeHistory(prefix, now)
  if not prefix or (historyNow.c == 0 and historyNow.f == 0) then return end
  local t = now or nowMs()
  local rollups = { { "m:" .. math.floor(t / 60000), 25 * 3600 }, { "h:" .. math.floor(t / 3600000), 31 * 86400 } }
  for _, r in ipairs(rollups) do
    local key = prefix .. "aq:hist:" .. r[1]
    local first = historyNow.f > 0 and countInto(key, "f", historyNow.f)
    for i, n in pairs(historyNow.b) do first = countInto(key, "b" .. i, n) or first end
    if first then rcall("EXPIRE", key, r[2]) end
  end
  historyNow = { c = 0, f = 0, b = {} }
end
local INLINE_RESULT_BYTES = 1024

local function noteFinished(id, resultJson)
  if resultJson and #resultJson <= INLINE_RESULT_BYTES then
    finishedNow[#finishedNow + 1] = { id, resultJson }
  else
    finishedNow[#finishedNow + 1] = { id }
  end
end

-- `now`: the script's Redis time, when it has read it already.
local function tellFinished(k, o, now)
  writeHistory(o.prefix, now)
  if #finishedNow > 0 and rcall("EXISTS", k.wantResult) == 1 then
    rcall(o.pub, o.channel, "fin:" .. cjson.encode(finishedNow))
  end
  finishedNow = {}
end

--[[
  Each attempt that ended other than in success is recorded in the job hash's "aq:att" (JSON, the
  last ATTEMPTS_KEPT): its number (n), when it started (s, processedOn) and ended (e), the lease it
  ran under (w), why it ended (m), its stack (k, on the newest `keepStacks` records only, when given), and how
  many log lines the task had when it ended (l), so each attempt's lines can be told apart. A
  completed or running attempt needs no record: the hash's own fields say it.
]]
local ATTEMPTS_KEPT = 20

local function recordAttempt(prefix, id, attempt, message, stack, now, keepStacks)
  local jobKey = prefix .. id
  local f = rcall("HMGET", jobKey, "processedOn", "pb", "aq:att")
  local list = {}
  if f[3] then
    local ok, decoded = pcall(cjson.decode, f[3])
    if ok and type(decoded) == "table" then list = decoded end
  end
  local rec = { n = attempt, s = tonumber(f[1]), e = now, w = f[2] or "", m = message, l = rcall("LLEN", jobKey .. ":logs") }
  if stack and stack ~= "" then rec.k = stack end
  list[#list + 1] = rec
  while #list > ATTEMPTS_KEPT do table.remove(list, 1) end
  local stacks = 0
  for i = #list, 1, -1 do
    if keepStacks and list[i].k then
      stacks = stacks + 1
      if stacks > keepStacks then list[i].k = nil end
    end
  end
  rcall("HSET", jobKey, "aq:att", cjson.encode(list))
end

-- Marks job `id` failed for good: kept in the failed set (a dead letter) up to `keep`. A chain
-- step's later steps, and a chord task's callback, can then never run: they fail for good with the
-- same reason (they are blocked in the waiting-children set until then).
local function failForGood(prefix, k, id, reason, now, keep)
  local jobKey = prefix .. id
  local flow = rcall("HMGET", jobKey, "nx", "cb")
  rcall("HSET", jobKey, "failedReason", reason, "finishedOn", now)
  rcall("HINCRBY", k.stats, "failed", 1)
  historyNow.f = historyNow.f + 1
  noteFinished(id)
  if keep > 0 then
    rcall("ZADD", k.failed, now, id)
    trimFinished(k.failed, prefix, keep)
  else
    removeJobKeys(prefix, id)
  end
  for i = 1, 2 do
    local next = flow[i]
    if next and rcall("ZREM", k.waitingChildren, next) == 1 then
      failForGood(prefix, k, next, reason, now, keep)
    end
  end
end

-- Room under the maxsize producers last used (recorded in the state hash), for tasks coming back
-- from a consumer: huge when the queue is unbounded.
local function roomUnderMaxsize(k)
  local maxsize = tonumber(rcall("HGET", k.state, "maxsize")) or 0
  if maxsize <= 0 then return math.huge end
  return maxsize - boundedCount(k)
end

-- A task coming back from a consumer (crashed, handing it back, or retrying a failed attempt):
-- ready again (at the front, or the back for a retry), or, when that would put more than maxsize
-- tasks in the queue, into the stalled list, from which it becomes ready ahead of any new put as
-- soon as there is room. Returns the room left.
local function comeBack(prefix, k, id, room, front, lifo)
  -- No longer processed by anyone: "pb" names a holder only while one holds it.
  rcall("HDEL", prefix .. id, "pb")
  if room > 0 then
    makeReady(prefix, k, id, front, lifo)
  else
    rcall("LPUSH", k.stalled, id)
  end
  return room - 1
end

-- A blocked flow step (a chain's next step, a chord's callback) becomes ready with `dataJson` as
-- its item: at once, after its own delay, or in the stalled list while the queue is at maxsize.
-- Nothing happens when it is no longer blocked (cancelled, or failed with an earlier step).
-- Returns the room left and whether it started.
local function startStep(prefix, k, id, dataJson, room, now, lifo)
  if rcall("ZREM", k.waitingChildren, id) == 0 then return room, false end
  local jobKey = prefix .. id
  local delay = tonumber(rcall("HGET", jobKey, "delay")) or 0
  rcall("HSET", jobKey, "data", dataJson, "timestamp", now)
  if delay > 0 then
    rcall("ZADD", k.delayed, delayedScore(k.delayed, now + delay), id)
    return room, true
  end
  return comeBack(prefix, k, id, room, false, lifo), true
end

-- Task `id` of a flow completed with `resultJson`: a chain's next step (`nx`) starts with the result
-- as its item. A chord task's result (`gi`, its place in the group) is kept in its callback's hash
-- (`cb`); the last of the group to complete starts the callback with every result, in the group's
-- order. Scripts run one at a time, so the last is one script run: the callback starts exactly once,
-- however close together the group's tasks finish. Returns the room left and whether a step started.
local function advanceFlow(prefix, k, nx, cb, gi, resultJson, room, now, lifo)
  if nx then return startStep(prefix, k, nx, resultJson, room, now, lifo) end
  local cbKey = prefix .. cb
  if not rcall("ZSCORE", k.waitingChildren, cb) then return room, false end
  if rcall("HSETNX", cbKey, "r" .. gi, resultJson) == 0 then return room, false end
  if rcall("HINCRBY", cbKey, "left", -1) > 0 then return room, false end
  local n = tonumber(rcall("HGET", cbKey, "gn")) or 0
  local fields = {}
  for i = 0, n - 1 do fields[#fields + 1] = "r" .. i end
  local parts = rcall("HMGET", cbKey, unpack(fields))
  for i = 1, n do parts[i] = parts[i] or "null" end
  rcall("HDEL", cbKey, unpack(fields))
  return startStep(prefix, k, cb, "[" .. table.concat(parts, ",") .. "]", room, now, lifo)
end
