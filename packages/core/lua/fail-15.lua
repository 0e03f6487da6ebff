#!lua flags=allow-oom
--[[
  Fails attempts of tasks a handle holds: each is retried (at once or after a
  backoff, through BullMQ's delayed set) or, on its last attempt, kept as a
  dead letter in the failed set. The error's stack joins the task's bounded
  list of stacks (BullMQ's "stacktrace" field).

  KEYS[1]  wait             (LIST)
  KEYS[2]  active           (LIST)
  KEYS[3]  prioritized      (ZSET)
  KEYS[4]  delayed          (ZSET)
  KEYS[5]  paused           (LIST)
  KEYS[6]  failed           (ZSET)
  KEYS[7]  leases           (ZSET)
  KEYS[8]  stats            (HASH)  asyncq totals: "failed", "retried"
  KEYS[9]  pc               (STRING) BullMQ's priority counter
  KEYS[10] want-task        (STRING) set while a consumer waits for tasks
  KEYS[11] want-join        (STRING) set while a handle waits in join
  KEYS[12] want-result      (STRING) set while a handle waits for a result
  KEYS[13] waiting-children (ZSET)
  KEYS[14] stalled          (LIST)  tasks back from a consumer, waiting for room under maxsize
  KEYS[15] state            (HASH)  asyncq: "maxsize"
  (and, within the same hash tag: job hashes, "aq:held:<lease>" SETs, and the history rollups
  "aq:hist:m:<minute>" and "aq:hist:h:<hour>" (HASHes, see finish-lib))

  ARGV[1]  options (msgpack map):
           prefix        job key prefix
           channel, pub  pub/sub channel, and "PUBLISH" or "SPUBLISH"
           lease         lease id of this handle
           leaseMs       lease duration in ms
           keepFailed    failed tasks to keep
           lifo          true for a LIFO queue
           keepStacks    stacks to keep per task
           handle, rid, forget, deadline, logTtlMs   the request log (see queue-lib)
  ARGV[2...] failed attempts, 5 per task: job id, error message, stack,
           retry delay in ms (-1: failed for good), and "1" when the handler threw RateLimited
           (the task comes back after the delay without using an attempt, and a queue with a
           rate limit lets nothing through its window for that long; see limits-lib), else "0"

  A task failing for good that is a flow step ends its flow: the chain's later steps, or the
  chord's callback, fail for good with the same reason (see failForGood in queue-lib).

  Returns { lost, cancelled }: the ids this handle no longer held (its lease was lost, or the task
  vanished), and those it no longer held because they were cancelled; a call the client gave up
  on returns { -1 }.
]]
-- @include queue-lib
-- @include limits-lib
local k = { wait = KEYS[1], active = KEYS[2], prioritized = KEYS[3], delayed = KEYS[4], paused = KEYS[5],
  failed = KEYS[6], leases = KEYS[7], stats = KEYS[8], pc = KEYS[9], wantTask = KEYS[10], wantJoin = KEYS[11],
  wantResult = KEYS[12], waitingChildren = KEYS[13], stalled = KEYS[14], state = KEYS[15] }
local o = options()
local prefix = o.prefix
local held = heldKey(prefix, o.lease)
local now = nowMs()
local prior = recall(prefix, o)
if prior then
  return { prior.lost, prior.cancelled }
end
if pastDeadline(o, now) then
  return { -1 }
end
forgetAnswered(prefix, o)
local lost, cancelled = {}, {}
local retried, final, readyNow = 0, 0, 0
local room = roomUnderMaxsize(k)

local rateLimitedUntil = 0
-- Groups whose slot a task gave up, under a per-group concurrency limit (see groups-lib).
local gcap = groupCap(prefix)
local freedGroups = {}
for i = 2, #ARGV, 5 do
  local id, message, stack, retryIn = ARGV[i], ARGV[i + 1], ARGV[i + 2], tonumber(ARGV[i + 3])
  local rateLimited = ARGV[i + 4] == "1"
  local jobKey = prefix .. id
  -- This handle's if its lease's held set has it, or (should that set have been lost) if its hash
  -- names this lease as its holder and it has not finished.
  local mine = rcall("SREM", held, id) == 1
  if not mine then
    mine = rcall("HGET", jobKey, "pb") == o.lease and rcall("HEXISTS", jobKey, "finishedOn") == 0
  end
  if mine then
    rcall("LREM", k.active, -1, id)
    local g = gcap and rcall("HGET", jobKey, "grp")
    if g then
      leaveGroupSlot(prefix, g, id)
      freedGroups[g] = true
    end
  end
  if mine and rateLimited and rcall("EXISTS", jobKey) == 1 then
    -- Not a failure: back after the delay, with the same attempt count.
    rcall("HDEL", jobKey, "pb")
    rcall("HSET", jobKey, "delay", retryIn)
    rcall("ZADD", k.delayed, delayedScore(k.delayed, now + retryIn), id)
    rateLimitedUntil = math.max(rateLimitedUntil, now + retryIn)
    readyNow = readyNow + 1
  elseif mine and rcall("EXISTS", jobKey) == 1 then
    local attempt = rcall("HINCRBY", jobKey, "atm", 1)
    local stacks = {}
    local raw = rcall("HGET", jobKey, "stacktrace")
    if raw then
      local ok, decoded = pcall(cjson.decode, raw)
      if ok and type(decoded) == "table" then stacks = decoded end
    end
    if stack ~= "" then stacks[#stacks + 1] = stack end
    while #stacks > o.keepStacks do table.remove(stacks, 1) end
    rcall("HSET", jobKey, "failedReason", message, "stacktrace", cjson.encode(stacks))
    recordAttempt(prefix, id, attempt, message, stack, now, o.keepStacks)
    if retryIn < 0 then
      failForGood(prefix, k, id, message, now, o.keepFailed)
      final = final + 1
    else
      retried = retried + 1
      if retryIn > 0 then
        rcall("HDEL", jobKey, "pb")
        rcall("HSET", jobKey, "delay", retryIn)
        rcall("ZADD", k.delayed, delayedScore(k.delayed, now + retryIn), id)
      else
        room = comeBack(prefix, k, id, room, false, o.lifo)
      end
      readyNow = readyNow + 1
    end
  elseif rcall("HEXISTS", jobKey, "cancelledOn") == 1 then
    cancelled[#cancelled + 1] = id
  else
    lost[#lost + 1] = id
  end
end

if retried > 0 then
  rcall("HINCRBY", k.stats, "retried", retried)
end
for g in pairs(freedGroups) do
  readyNow = readyNow + feedGroup(prefix, k, g, gcap, o.lifo, now)
end
if rcall("SCARD", held) > 0 then
  rcall("ZADD", k.leases, now + o.leaseMs, o.lease)
end
if rateLimitedUntil > 0 then
  pauseRateWindow(prefix, rateLimitedUntil)
end
-- A retry (ready now, or with a new due time) wakes idle consumers; so does a slot freed under a
-- concurrency limit (see limits-lib).
if readyNow > 0 or (final > 0 and rcall("HEXISTS", prefix .. "meta", "concurrency") == 1) then
  wakeConsumers(k, o)
end
tellFinished(k, o, now)
if final > 0 then
  signalDrained(k, o)
end
remember(prefix, o, { lost = lost, cancelled = cancelled })
return { lost, cancelled }
