#!lua
--[[
  Adds tasks in BullMQ's layout, behind asyncq's shutdown flag and maxsize gate,
  in one atomic step: a put is one round trip, and concurrent producers in any
  process never overfill the queue. Items are taken in order; the first that
  finds the queue full stops the batch (it and the rest are not added).

  KEYS[1]  state         (HASH)    asyncq: "shutdown", "epoch", "maxsize"
  KEYS[2]  meta          (HASH)    BullMQ queue meta (created here, as BullMQ does)
  KEYS[3]  id            (STRING)  BullMQ's job id counter
  KEYS[4]  wait          (LIST)
  KEYS[5]  paused        (LIST)
  KEYS[6]  prioritized   (ZSET)
  KEYS[7]  delayed       (ZSET)
  KEYS[8]  pc            (STRING)  BullMQ's priority counter
  KEYS[9]  stats         (HASH)    asyncq totals: "added"
  KEYS[10] want-task     (STRING)  set while a consumer waits for tasks
  KEYS[11] want-room     (STRING)  set while a producer waits for room
  KEYS[12] stalled       (LIST)    tasks back from a consumer, waiting for room (they count too)

  ARGV[1]  options (msgpack map):
           prefix        job key prefix ("asyncq:{name}:")
           channel, pub  pub/sub channel, and "PUBLISH" or "SPUBLISH" (Redis Cluster)
           maxsize       0: unbounded
           epoch         epoch to record if the queue has none yet
           lifo          true for a LIFO queue
           roomWaitMs    ms a producer stays announced as waiting for room when the queue is full (0: not waiting)
           handle, rid, forget, deadline, logTtlMs   the request log (see queue-lib)
  ARGV[2...] items, 7 per task: id ("" for the next counter value), name, data (JSON),
           opts (JSON), delay in ms, priority (0: none, else asyncq priority + 1), group ("": none;
           a grouped task that is ready is parked in its group, see groups-lib)

  Returns { handled, full, added, lost, id1, ..., id_handled }: handled items were added or
  already existed (a dedup id); full is 1 when the gate stopped the batch; added is the
  partition's total of tasks ever put, after this call, and lost every loss recorded (see
  count-10.lua); handled is -1 when the queue is shut down, -2 for a call the client gave up on.
]]
-- @include queue-lib
local k = { state = KEYS[1], meta = KEYS[2], id = KEYS[3], wait = KEYS[4], paused = KEYS[5], prioritized = KEYS[6],
  delayed = KEYS[7], pc = KEYS[8], stats = KEYS[9], wantTask = KEYS[10], wantRoom = KEYS[11], stalled = KEYS[12] }
local o = options()
local prefix = o.prefix
local now = nowMs()

-- The same call again (its reply was lost on the way): the same answer, nothing added twice. The
-- record keeps dedup ids as they are and counter ids as "" with the first counter value.
local prior = recall(prefix, o)
if prior then
  local t = ledger(k)
  local out, next = { prior.h, prior.f, t.added, t.lost }, prior.a
  for _, id in ipairs(prior.ids) do
    if id == "" then
      next = next + 1
      id = tostring(next)
    end
    out[#out + 1] = id
  end
  return out
end
if pastDeadline(o, now) then
  return { -2, 0, 0, 0 }
end
forgetAnswered(prefix, o)

if rcall("HGET", k.state, "shutdown") then
  return { -1, 0, 0, 0 }
end
-- Dedup ids: is there a task with each? Only a hash can be one; any other key there is damage,
-- refused before anything is written.
local found = {}
for i = 2, #ARGV, 7 do
  local id = ARGV[i]
  if id ~= "" then
    local t = rcall("TYPE", prefix .. id).ok
    if t == "hash" then
      found[id] = true
    elseif t ~= "none" then
      return redis.error_reply("WRONGTYPE the key of task " .. id .. " holds a " .. t .. ", not a task")
    end
  end
end

-- The first put ever records the queue's epoch and creates BullMQ's meta (what makes a queue exist).
if rcall("HSETNX", k.state, "epoch", o.epoch) == 1 then
  rcall("HSETNX", k.meta, "opts.maxLenEvents", 10000)
end

local n = (#ARGV - 1) / 7
local room = n
if o.maxsize > 0 then
  -- Recorded for operators: the bound the producers use (per partition on a partitioned queue).
  rcall("HSET", k.state, "maxsize", o.maxsize)
  room = o.maxsize - boundedCount(k)
end

local out = { 0, 0, 0, 0 }
local grouped = false
local recorded = {}
local added = 0
local autoIds = 0
for i = 2, #ARGV, 7 do
  if ARGV[i] == "" then autoIds = autoIds + 1 end
end
local nextId = 0
if autoIds > 0 then
  nextId = rcall("INCRBY", k.id, autoIds) - autoIds
end
local firstId = nextId

for i = 2, #ARGV, 7 do
  local id = ARGV[i]
  local existing = false
  if id == "" then
    nextId = nextId + 1
    id = tostring(nextId)
  elseif found[id] then
    existing = true
  end
  recorded[#recorded + 1] = ARGV[i]
  if not existing then
    if room <= 0 then
      out[2] = 1
      break
    end
    room = room - 1
    local delay = tonumber(ARGV[i + 4])
    local priority = tonumber(ARGV[i + 5])
    local group = ARGV[i + 6]
    rcall("HSET", prefix .. id, "name", ARGV[i + 1], "data", ARGV[i + 2], "opts", ARGV[i + 3],
      "timestamp", now, "delay", delay, "priority", priority)
    if group ~= "" then
      rcall("HSET", prefix .. id, "grp", group)
      if not grouped then
        grouped = true
        rcall("HSET", k.meta, "aq:grouped", 1)
      end
    end
    if delay > 0 then
      rcall("ZADD", k.delayed, delayedScore(k.delayed, now + delay), id)
    elseif group ~= "" then
      readyInGroup(prefix, k, group, id, priority, false, o.lifo)
    else
      pushReady(k, id, priority, false, o.lifo)
    end
    added = added + 1
    found[id] = true
  end
  out[#out + 1] = id
end
out[1] = #out - 4
if out[2] == 1 then
  recorded[#recorded] = nil -- the item the gate stopped was not handled
end

if added > 0 then
  rcall("HINCRBY", k.stats, "added", added)
end
local t = ledger(k)
out[3], out[4] = t.added, t.lost
remember(prefix, o, { h = out[1], f = out[2], a = firstId, ids = recorded })
if added > 0 then
  -- Idle consumers learn of ready tasks, and of a new delayed one's due time, at once.
  wakeConsumers(k, o)
end
if out[2] == 1 and o.roomWaitMs > 0 then
  rcall("SET", k.wantRoom, "1", "PX", o.roomWaitMs)
end
return out
