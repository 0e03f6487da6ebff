--[[
  Creates a durable flow in one step: a chain (each step runs with the previous
  step's result as its item) or a chord (a group of tasks, then a callback with
  the group's results in order). Every task of the flow is created now, with an
  id from the queue's counter, so the flow lives in Redis alone: its first step
  (a chain) or its group (a chord) is ready (or delayed) at once, and the rest
  wait in the waiting-children set, blocked, until the consume script starts
  them as their predecessors complete (see advanceFlow in queue-lib). Blocked
  steps are unfinished tasks: join waits for them, and they count in "added".

  Flow fields of the job hashes: "nx" (a chain step's next step), "pv" (its
  previous one), "steps" (on a chain's last step: the ids of the others, in
  order), "cb" and "gi" (a chord task's callback, and its place in the group),
  "group", "gn" and "left" (on a chord's callback: the group's ids, how many,
  and how many have not completed).

  Behind the shutdown flag and the maxsize gate, like add-12.lua: the tasks
  ready at once must fit, or nothing is created.

  KEYS[1]  state            (HASH)    asyncq: "shutdown", "epoch", "maxsize"
  KEYS[2]  meta             (HASH)    BullMQ queue meta (created here, as BullMQ does)
  KEYS[3]  id               (STRING)  BullMQ's job id counter
  KEYS[4]  wait             (LIST)
  KEYS[5]  paused           (LIST)
  KEYS[6]  prioritized      (ZSET)
  KEYS[7]  delayed          (ZSET)
  KEYS[8]  pc               (STRING)  BullMQ's priority counter
  KEYS[9]  stats            (HASH)    asyncq totals: "added"
  KEYS[10] want-task        (STRING)  set while a consumer waits for tasks
  KEYS[11] want-room        (STRING)  set while a producer waits for room
  KEYS[12] stalled          (LIST)    tasks back from a consumer, waiting for room (they count too)
  KEYS[13] waiting-children (ZSET)    blocked flow steps

  ARGV[1]  options (msgpack map):
           prefix        job key prefix
           channel, pub  pub/sub channel, and "PUBLISH" or "SPUBLISH"
           kind          "chain" or "chord"
           maxsize       0: unbounded
           epoch         epoch to record if the queue has none yet
           lifo          true for a LIFO queue
           roomWaitMs    ms a producer stays announced as waiting for room when the queue is full
           handle, rid, forget, deadline, logTtlMs   the request log (see queue-lib)
  ARGV[2...] tasks, 6 each: name, data (JSON; "" for a step whose item is its predecessors'
           result), opts (JSON), delay in ms, priority (0: none, else asyncq priority + 1), group
           ("": none; see groups-lib). A chain
           lists its steps in order; a chord its group, then its callback.

  Returns { status, added, lost, id1, ..., idN }: status 1 when created, 0 when the queue has no
  room for the tasks ready at once (nothing created), -1 when shut down, -2 for a call the client
  gave up on; added and lost as add-12.lua returns them.
]]
-- @include queue-lib
local k = { state = KEYS[1], meta = KEYS[2], id = KEYS[3], wait = KEYS[4], paused = KEYS[5], prioritized = KEYS[6],
  delayed = KEYS[7], pc = KEYS[8], stats = KEYS[9], wantTask = KEYS[10], wantRoom = KEYS[11], stalled = KEYS[12],
  waitingChildren = KEYS[13] }
local o = options()
local prefix = o.prefix
local now = nowMs()
local n = (#ARGV - 1) / 6

local function answer(status, first)
  local t = ledger(k)
  local out = { status, t.added, t.lost }
  if status == 1 then
    for i = 1, n do out[#out + 1] = tostring(first + i) end
  end
  return out
end

local prior = recall(prefix, o)
if prior then
  return answer(1, prior.first)
end
if pastDeadline(o, now) then
  return { -2, 0, 0 }
end
forgetAnswered(prefix, o)
if rcall("HGET", k.state, "shutdown") then
  return { -1, 0, 0 }
end

local readyNow = o.kind == "chain" and 1 or n - 1
if o.maxsize > 0 then
  rcall("HSET", k.state, "maxsize", o.maxsize)
  if o.maxsize - boundedCount(k) < readyNow then
    if o.roomWaitMs > 0 then
      rcall("SET", k.wantRoom, "1", "PX", o.roomWaitMs)
    end
    return answer(0, 0)
  end
end
if rcall("HSETNX", k.state, "epoch", o.epoch) == 1 then
  rcall("HSETNX", k.meta, "opts.maxLenEvents", 10000)
end

local first = rcall("INCRBY", k.id, n) - n
local ids = {}
for i = 1, n do ids[i] = tostring(first + i) end
local others = table.concat(ids, ",", 1, n - 1)

for i = 1, n do
  local a = 2 + (i - 1) * 6
  local id, data, delay, priority = ids[i], ARGV[a + 1], tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4])
  local jobKey = prefix .. id
  rcall("HSET", jobKey, "name", ARGV[a], "data", data ~= "" and data or "null", "opts", ARGV[a + 2],
    "timestamp", now, "delay", delay, "priority", priority)
  local group = ARGV[a + 5]
  if group ~= "" then
    rcall("HSET", jobKey, "grp", group)
    rcall("HSET", k.meta, "aq:grouped", 1)
  end
  local ready
  if o.kind == "chain" then
    ready = i == 1
    if i < n then rcall("HSET", jobKey, "nx", ids[i + 1]) end
    if i > 1 then rcall("HSET", jobKey, "pv", ids[i - 1]) end
    if i == n and n > 1 then rcall("HSET", jobKey, "steps", others) end
  else
    ready = i < n
    if i < n then
      rcall("HSET", jobKey, "cb", ids[n], "gi", i - 1)
    else
      rcall("HSET", jobKey, "group", others, "gn", n - 1, "left", n - 1)
    end
  end
  if not ready then
    rcall("ZADD", k.waitingChildren, now, id)
  elseif delay > 0 then
    rcall("ZADD", k.delayed, delayedScore(k.delayed, now + delay), id)
  elseif group ~= "" then
    readyInGroup(prefix, k, group, id, priority, false, o.lifo)
  else
    pushReady(k, id, priority, false, o.lifo)
  end
end

rcall("HINCRBY", k.stats, "added", n)
remember(prefix, o, { first = first })
wakeConsumers(k, o)
return answer(1, first)
