--[[
  A consumer handle's one round trip: acknowledges the tasks it finished,
  returns the tasks of crashed consumers (expired leases) to the queue,
  promotes due delayed tasks, and reserves up to `wanted + speculative` ready
  tasks under the handle's lease, in BullMQ's layout (wait -> active, job hash
  fields processedOn, pb, atm, returnvalue, finishedOn; BullMQ's "ats" is not kept).

  A handle holds its tasks under one lease (a ZSET member with an expiry and a
  SET of job ids) instead of a lock key per task: one renewal per handle keeps
  all of them, and a handle that stops renewing loses all of them at once.

  KEYS[1]  wait             (LIST)
  KEYS[2]  active           (LIST)
  KEYS[3]  prioritized      (ZSET)
  KEYS[4]  delayed          (ZSET)
  KEYS[5]  paused           (LIST)
  KEYS[6]  meta             (HASH)  BullMQ: field "paused"
  KEYS[7]  completed        (ZSET)
  KEYS[8]  failed           (ZSET)
  KEYS[9]  state            (HASH)  asyncq: "shutdown"
  KEYS[10] leases           (ZSET)  lease id -> expiry (ms)
  KEYS[11] stats            (HASH)  asyncq totals: "completed", "failed", "reclaimed"
  KEYS[12] pc               (STRING) BullMQ's priority counter
  KEYS[13] want-task        (STRING) set while a consumer waits for tasks
  KEYS[14] want-room        (STRING) set while a producer waits for room
  KEYS[15] want-join        (STRING) set while a handle waits in join
  KEYS[16] want-result      (STRING) set while a handle waits for a result
  KEYS[17] waiting-children (ZSET)
  KEYS[18] stalled          (LIST)  tasks back from a consumer, waiting for room under maxsize
  (and, within the same hash tag: job hashes, and "aq:held:<lease>" SETs)

  ARGV[1]  job key prefix
  ARGV[2]  pub/sub channel
  ARGV[3]  "PUBLISH" or "SPUBLISH"
  ARGV[4]  lease id of this handle
  ARGV[5]  lease duration in ms
  ARGV[6]  "1" when the handle holds tasks under this lease (then a missing lease means it was lost)
  ARGV[7]  tasks wanted by waiting gets
  ARGV[8]  tasks to fetch ahead (speculatively, for gets about to come)
  ARGV[9]  completed tasks to keep (0: delete at once)
  ARGV[10] failed tasks to keep
  ARGV[11] maxStalls: times a task may lose its consumer before it fails for good
  ARGV[12] "1" for a LIFO queue
  ARGV[13] ms a consumer stays announced as waiting for tasks when it got fewer than wanted
  ARGV[14] what else to do now, as letters: "r" reclaim expired leases, "p" promote due delayed
           tasks, "l" push the lease's expiry forward (the client asks for each only when due)
  ARGV[15] number of acknowledgements k, then k times: job id, result (JSON), attempts made

  Returns { 0 } when the lease was lost (nothing applied), else
  { 1, lost ids, tasks, next delayed due time (ms, 0: none), shutdown mode or "",
    pending (ready + delayed + stalled), paused (0/1) } where tasks is a flat list of
  id, name, data, opts, timestamp, delay, atm (attempts made) per task.
]]
-- @include queue-lib
local prefix, channel, pub, lease = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local leaseMs = tonumber(ARGV[5])
local wanted, speculative = tonumber(ARGV[7]), tonumber(ARGV[8])
local keepCompleted, keepFailed = tonumber(ARGV[9]), tonumber(ARGV[10])
local maxStalls, lifo = tonumber(ARGV[11]), ARGV[12] == "1"
local k = tonumber(ARGV[15])
local todo = ARGV[14]
local heldKey = prefix .. "aq:held:" .. lease
local keys = { wait = KEYS[1], active = KEYS[2], prioritized = KEYS[3], delayed = KEYS[4], paused = KEYS[5],
  failed = KEYS[8], state = KEYS[9], leases = KEYS[10], stats = KEYS[11], pc = KEYS[12], stalled = KEYS[18] }

if ARGV[6] == "1" and not rcall("ZSCORE", KEYS[10], lease) then
  return { 0 }
end
local now = nowMs()

-- Acknowledgements.
local lost = {}
local acked = 0
local wantResult = rcall("EXISTS", KEYS[16]) == 1
for i = 0, k - 1 do
  local id = ARGV[16 + i * 3]
  -- Held by this lease, still active, and still there: a job removed meanwhile (or lost by Redis) is not.
  if rcall("SREM", heldKey, id) == 1 and rcall("LREM", KEYS[2], -1, id) > 0 and rcall("EXISTS", prefix .. id) == 1 then
    if keepCompleted > 0 then
      rcall("HSET", prefix .. id, "returnvalue", ARGV[17 + i * 3], "finishedOn", now, "atm", ARGV[18 + i * 3])
      rcall("ZADD", KEYS[7], now, id)
    else
      removeJobKeys(prefix, id)
    end
    acked = acked + 1
    if wantResult then
      rcall(pub, channel, "done:" .. id)
    end
  else
    lost[#lost + 1] = id
  end
end
if acked > 0 then
  if keepCompleted > 0 then
    trimFinished(KEYS[7], prefix, keepCompleted)
  end
  rcall("HINCRBY", KEYS[11], "completed", acked)
end

-- Crashed consumers: their leases expired, so their tasks go back to the front.
local freed = 0
if string.find(todo, "r", 1, true) then
  for _, other in ipairs(rcall("ZRANGEBYSCORE", KEYS[10], "-inf", now, "LIMIT", 0, 10)) do
    if other ~= lease then
      freed = freed + reclaimLease(prefix, keys, other, maxStalls, keepFailed, lifo, now)
    end
  end
end

-- Due delayed tasks become ready (BullMQ's promotion: to the back, delay reset). Delayed retries
-- may have put the queue past maxsize: those over it wait in the stalled list instead.
local due = {}
if string.find(todo, "p", 1, true) then
  due = rcall("ZRANGEBYSCORE", KEYS[4], 0, (now + 1) * 0x1000 - 1, "LIMIT", 0, 1000)
end
if #due > 0 then
  rcall("ZREM", KEYS[4], unpack(due))
  local room = roomUnderMaxsize(KEYS[9], KEYS[1], KEYS[5], KEYS[3], KEYS[4], KEYS[18])
  for _, id in ipairs(due) do
    rcall("HSET", prefix .. id, "delay", 0)
    room = comeBack(prefix, keys, id, room, false, false)
  end
end

-- Tasks back from consumers that waited for room go first, as far as maxsize allows.
local released = releaseStalled(prefix, keys, lifo)

-- Reservations.
local paused = rcall("HEXISTS", KEYS[6], "paused") == 1
local tasks = {}
local got = 0
if not paused then
  while got < wanted + speculative do
    local id = rcall("RPOPLPUSH", KEYS[1], KEYS[2])
    if not id then
      local top = rcall("ZPOPMIN", KEYS[3])
      if #top == 0 then break end
      id = top[1]
      rcall("LPUSH", KEYS[2], id)
    end
    local f = rcall("HMGET", prefix .. id, "name", "data", "opts", "timestamp", "delay", "atm")
    if not f[1] and not f[2] then
      -- Listed but its hash is gone (deleted meanwhile, or lost by Redis): nothing to run.
      rcall("LREM", KEYS[2], -1, id)
      rcall("HINCRBY", KEYS[11], "vanished", 1)
    else
      rcall("SADD", heldKey, id)
      rcall("HSET", prefix .. id, "processedOn", now, "pb", lease)
      tasks[#tasks + 1] = id
      for j = 1, 6 do
        tasks[#tasks + 1] = f[j]
      end
      got = got + 1
    end
  end
end

-- The lease lives while it holds tasks; an empty one is left to expire (removing it here could race
-- another call of the same handle that still counts on it).
-- A lease is created with its first tasks, then pushed forward only when the client says it is
-- due ("l"), not on every call.
if ((got > 0 and ARGV[6] ~= "1") or string.find(todo, "l", 1, true)) and rcall("SCARD", heldKey) > 0 then
  rcall("ZADD", KEYS[10], now + leaseMs, lease)
end

if got > 0 then
  signalIfWanted(KEYS[14], pub, channel, "room")
end
if freed + #due + released > 0 and rcall("LLEN", KEYS[1]) + rcall("ZCARD", KEYS[3]) > 0 then
  signalIfWanted(KEYS[13], pub, channel, "task")
end
if acked > 0 and rcall("EXISTS", KEYS[15]) == 1
    and nothingUnfinished(KEYS[1], KEYS[5], KEYS[3], KEYS[4], KEYS[2], KEYS[17], KEYS[18]) then
  rcall(pub, channel, "drained")
end

local nextDue, mode, pending = 0, "", 0
if got < wanted then
  rcall("SET", KEYS[13], "1", "PX", ARGV[13])
  local first = rcall("ZRANGE", KEYS[4], 0, 0, "WITHSCORES")
  if first[2] then
    nextDue = math.floor(tonumber(first[2]) / 0x1000)
  end
  mode = rcall("HGET", KEYS[9], "shutdown") or ""
  pending = pendingCount(KEYS[1], KEYS[5], KEYS[3], KEYS[4]) + rcall("LLEN", KEYS[18])
end
return { 1, lost, tasks, nextDue, mode, pending, paused and 1 or 0 }
