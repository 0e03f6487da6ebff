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
  KEYS[8]  stats            (HASH)   asyncq totals: "failed", "retried"
  KEYS[9]  pc               (STRING)
  KEYS[10] want-task        (STRING)
  KEYS[11] want-join        (STRING)
  KEYS[12] want-result      (STRING)
  KEYS[13] waiting-children (ZSET)
  KEYS[14] stalled          (LIST)   where a retry waits when the queue is at maxsize
  KEYS[15] state            (HASH)   "maxsize" producers use

  ARGV[1]  job key prefix
  ARGV[2]  pub/sub channel
  ARGV[3]  "PUBLISH" or "SPUBLISH"
  ARGV[4]  lease id of this handle
  ARGV[5]  lease duration in ms
  ARGV[6]  failed tasks to keep (0: delete at once)
  ARGV[7]  "1" for a LIFO queue
  ARGV[8]  stacks kept per task
  ARGV[9]  number of failures k, then k times: job id, error message, stack ("" for none),
           retry delay in ms (-1: failed for good)

  Returns the ids this handle no longer held (its lease was lost, or the task vanished).
]]
-- @include queue-lib
local prefix, channel, pub, lease = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local keepFailed, lifo, keepStacks = tonumber(ARGV[6]), ARGV[7] == "1", tonumber(ARGV[8])
local k = tonumber(ARGV[9])
local heldKey = prefix .. "aq:held:" .. lease
local now = nowMs()
local lost = {}
local retried, final, readyNow = 0, 0, 0
local wantResult = rcall("EXISTS", KEYS[12]) == 1
local keys = { wait = KEYS[1], prioritized = KEYS[3], pc = KEYS[9], stalled = KEYS[14] }
local room = roomUnderMaxsize(KEYS[15], KEYS[1], KEYS[5], KEYS[3], KEYS[4], KEYS[14])

for i = 0, k - 1 do
  local base = 10 + i * 4
  local id, message, stack, retryIn = ARGV[base], ARGV[base + 1], ARGV[base + 2], tonumber(ARGV[base + 3])
  local jobKey = prefix .. id
  local mine = rcall("SREM", heldKey, id) == 1
  if mine then
    rcall("LREM", KEYS[2], -1, id)
  end
  if mine and rcall("EXISTS", jobKey) == 1 then
    rcall("HINCRBY", jobKey, "atm", 1)
    local stacks = {}
    local raw = rcall("HGET", jobKey, "stacktrace")
    if raw then
      local ok, decoded = pcall(cjson.decode, raw)
      if ok and type(decoded) == "table" then stacks = decoded end
    end
    if stack ~= "" then stacks[#stacks + 1] = stack end
    while #stacks > keepStacks do table.remove(stacks, 1) end
    rcall("HSET", jobKey, "failedReason", message, "stacktrace", cjson.encode(stacks))
    if retryIn < 0 then
      failForGood(prefix, KEYS[6], KEYS[8], id, message, now, keepFailed)
      final = final + 1
      if wantResult then rcall(pub, channel, "done:" .. id) end
    else
      retried = retried + 1
      if retryIn > 0 then
        rcall("HSET", jobKey, "delay", retryIn)
        rcall("ZADD", KEYS[4], delayedScore(KEYS[4], now + retryIn), id)
      else
        room = comeBack(prefix, keys, id, room, false, lifo)
      end
      readyNow = readyNow + 1
    end
  else
    lost[#lost + 1] = id
  end
end

if retried > 0 then
  rcall("HINCRBY", KEYS[8], "retried", retried)
end
if rcall("SCARD", heldKey) > 0 then
  rcall("ZADD", KEYS[7], now + tonumber(ARGV[5]), lease)
end
-- A retry (ready now, or with a new due time) wakes idle consumers.
if readyNow > 0 and rcall("EXISTS", KEYS[10]) == 1 then
  rcall("DEL", KEYS[10])
  rcall(pub, channel, "task")
end
if final > 0 and rcall("EXISTS", KEYS[11]) == 1
    and nothingUnfinished(KEYS[1], KEYS[5], KEYS[3], KEYS[4], KEYS[2], KEYS[13], KEYS[14]) then
  rcall(pub, channel, "drained")
end
return lost
