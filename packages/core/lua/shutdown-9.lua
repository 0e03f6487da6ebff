#!lua flags=allow-oom
--[[
  Shuts a queue down everywhere (Python 3.13 semantics), or reopens it.
  "graceful" only refuses new puts; "immediate" also discards the tasks that
  are waiting, delayed or blocked in a flow (they count as finished), at most `batch` per call:
  the caller repeats while it returns a remainder. A graceful shutdown never
  downgrades an immediate one.

  KEYS[1]  state            (HASH)  asyncq: "shutdown"
  KEYS[2]  wait             (LIST)
  KEYS[3]  paused           (LIST)
  KEYS[4]  prioritized      (ZSET)
  KEYS[5]  delayed          (ZSET)
  KEYS[6]  active           (LIST)
  KEYS[7]  waiting-children (ZSET)
  KEYS[8]  stats            (HASH)  asyncq totals: "discarded"
  KEYS[9]  stalled          (LIST)  tasks back from a consumer, waiting for room under maxsize

  ARGV[1]  options (msgpack map):
           prefix        job key prefix
           channel, pub  pub/sub channel, and "PUBLISH" or "SPUBLISH"
           mode          "graceful", "immediate" or "reopen"
           batch         most tasks to discard in this call

  Publishes "shutdown" (and "drained" once nothing is unfinished) or "reopen".
  Returns how many waiting or delayed tasks remain to discard.
]]
-- @include queue-lib
local k = { state = KEYS[1], wait = KEYS[2], paused = KEYS[3], prioritized = KEYS[4], delayed = KEYS[5],
  active = KEYS[6], waitingChildren = KEYS[7], stats = KEYS[8], stalled = KEYS[9] }
local o = options()
local prefix = o.prefix
if o.mode == "reopen" then
  rcall("HDEL", k.state, "shutdown")
  rcall(o.pub, o.channel, "reopen")
  return 0
end
if o.mode == "immediate" or not rcall("HGET", k.state, "shutdown") then
  rcall("HSET", k.state, "shutdown", o.mode)
end
local remaining = 0
if o.mode == "immediate" then
  local budget = o.batch
  local discarded = 0
  for _, list in ipairs({ k.wait, k.paused, k.stalled }) do
    -- Guarded: LRANGE 0 -1 would be the whole list, not none of it.
    if budget - discarded > 0 then
      local ids = rcall("LRANGE", list, 0, budget - discarded - 1)
      for _, id in ipairs(ids) do removeJobKeys(prefix, id) end
      rcall("LTRIM", list, #ids, -1)
      discarded = discarded + #ids
    end
  end
  -- Flow steps blocked until earlier ones finish are discarded with the waiting ones.
  for _, set in ipairs({ k.prioritized, k.delayed, k.waitingChildren }) do
    if budget - discarded > 0 then
      local ids = rcall("ZRANGE", set, 0, budget - discarded - 1)
      for _, id in ipairs(ids) do removeJobKeys(prefix, id) end
      if #ids > 0 then rcall("ZREM", set, unpack(ids)) end
      discarded = discarded + #ids
    end
  end
  -- Tasks parked in their groups (groups-lib) are waiting ones too.
  for _, id in ipairs(takeParked(prefix, budget - discarded)) do
    removeJobKeys(prefix, id)
    discarded = discarded + 1
  end
  rcall("HINCRBY", k.stats, "discarded", discarded)
  remaining = boundedCount(k) + rcall("ZCARD", k.waitingChildren)
end
rcall(o.pub, o.channel, "shutdown")
if remaining == 0 and nothingUnfinished(k) then
  rcall(o.pub, o.channel, "drained")
end
return remaining
