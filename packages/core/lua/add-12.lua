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

  ARGV[1]  job key prefix ("asyncq:{name}:")
  ARGV[2]  pub/sub channel
  ARGV[3]  "PUBLISH" or "SPUBLISH" (Redis Cluster)
  ARGV[4]  maxsize (0: unbounded)
  ARGV[5]  epoch to record if the queue has none yet
  ARGV[6]  "1" for a LIFO queue
  ARGV[7]  ms a producer stays announced as waiting for room when the queue is full (0: not waiting)
  ARGV[8]  number of items n, then n times:
           id ("" for the next counter value), name, data (JSON), opts (JSON),
           delay in ms, priority (0: none, else asyncq priority + 1)

  Returns { handled, full, id1, ..., id_handled }: handled items were added or
  already existed (a dedup id); full is 1 when the gate stopped the batch;
  handled is -1 when the queue is shut down.
]]
-- @include queue-lib
local prefix, channel, pub = ARGV[1], ARGV[2], ARGV[3]
local maxsize = tonumber(ARGV[4])
local lifo = ARGV[6] == "1"
local n = tonumber(ARGV[8])

if rcall("HGET", KEYS[1], "shutdown") then
  return { -1, 0 }
end
local now = nowMs()
-- The first put ever records the queue's epoch and creates BullMQ's meta (what makes a queue exist).
if rcall("HSETNX", KEYS[1], "epoch", ARGV[5]) == 1 then
  rcall("HSETNX", KEYS[2], "opts.maxLenEvents", 10000)
end

local room = n
if maxsize > 0 then
  -- Recorded for operators: the bound the producers use (per partition on a partitioned queue).
  rcall("HSET", KEYS[1], "maxsize", maxsize)
  room = maxsize - pendingCount(KEYS[4], KEYS[5], KEYS[6], KEYS[7]) - rcall("LLEN", KEYS[12])
end

local out = { 0, 0 }
local added = 0
local autoIds = 0
for i = 0, n - 1 do
  if ARGV[9 + i * 6] == "" then autoIds = autoIds + 1 end
end
local nextId = 0
if autoIds > 0 then
  nextId = rcall("INCRBY", KEYS[3], autoIds) - autoIds
end

for i = 0, n - 1 do
  local base = 9 + i * 6
  local id = ARGV[base]
  local existing = false
  if id == "" then
    nextId = nextId + 1
    id = tostring(nextId)
  elseif rcall("EXISTS", prefix .. id) == 1 then
    existing = true
  end
  if not existing then
    if room <= 0 then
      out[2] = 1
      break
    end
    room = room - 1
    local delay = tonumber(ARGV[base + 4])
    local priority = tonumber(ARGV[base + 5])
    rcall("HSET", prefix .. id, "name", ARGV[base + 1], "data", ARGV[base + 2], "opts", ARGV[base + 3],
      "timestamp", now, "delay", delay, "priority", priority)
    if delay > 0 then
      rcall("ZADD", KEYS[7], delayedScore(KEYS[7], now + delay), id)
    else
      pushReady(KEYS[4], KEYS[6], KEYS[8], id, priority, false, lifo)
    end
    added = added + 1
  end
  out[#out + 1] = id
end
out[1] = #out - 2

if added > 0 then
  rcall("HINCRBY", KEYS[9], "added", added)
  -- Idle consumers learn of ready tasks, and of a new delayed one's due time, at once.
  if rcall("EXISTS", KEYS[10]) == 1 then
    rcall("DEL", KEYS[10])
    rcall(pub, channel, "task")
  end
end
if out[2] == 1 and tonumber(ARGV[7]) > 0 then
  rcall("SET", KEYS[11], "1", "PX", ARGV[7])
end
return out
