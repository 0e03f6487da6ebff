--[[
  Shuts a queue down everywhere (Python 3.13 semantics), or reopens it.
  "graceful" only refuses new puts; "immediate" also discards the tasks that
  are waiting or delayed (they count as finished), at most ARGV[5] per call:
  the caller repeats while it returns a remainder. A graceful shutdown never
  downgrades an immediate one.

  KEYS[1] state            (HASH)
  KEYS[2] wait             (LIST)
  KEYS[3] paused           (LIST)
  KEYS[4] prioritized      (ZSET)
  KEYS[5] delayed          (ZSET)
  KEYS[6] active           (LIST)
  KEYS[7] waiting-children (ZSET)
  KEYS[8] stats            (HASH)  "discarded"
  KEYS[9] stalled          (LIST)  tasks back from a consumer, waiting for room

  ARGV[1] job key prefix
  ARGV[2] pub/sub channel
  ARGV[3] "PUBLISH" or "SPUBLISH"
  ARGV[4] "graceful", "immediate" or "reopen"
  ARGV[5] most tasks discarded per call

  Publishes "shutdown" (and "drained" once nothing is unfinished) or "reopen".
  Returns how many waiting or delayed tasks remain to discard.
]]
-- @include queue-lib
local prefix, channel, pub, mode = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
if mode == "reopen" then
  rcall("HDEL", KEYS[1], "shutdown")
  rcall(pub, channel, "reopen")
  return 0
end
if mode == "immediate" or not rcall("HGET", KEYS[1], "shutdown") then
  rcall("HSET", KEYS[1], "shutdown", mode)
end
local remaining = 0
if mode == "immediate" then
  local budget = tonumber(ARGV[5])
  local discarded = 0
  for _, list in ipairs({ KEYS[2], KEYS[3], KEYS[9] }) do
    local ids = rcall("LRANGE", list, 0, budget - discarded - 1)
    for _, id in ipairs(ids) do removeJobKeys(prefix, id) end
    rcall("LTRIM", list, #ids, -1)
    discarded = discarded + #ids
  end
  for _, set in ipairs({ KEYS[4], KEYS[5] }) do
    if budget - discarded > 0 then
      local ids = rcall("ZRANGE", set, 0, budget - discarded - 1)
      for _, id in ipairs(ids) do removeJobKeys(prefix, id) end
      if #ids > 0 then rcall("ZREM", set, unpack(ids)) end
      discarded = discarded + #ids
    end
  end
  rcall("HINCRBY", KEYS[8], "discarded", discarded)
  remaining = pendingCount(KEYS[2], KEYS[3], KEYS[4], KEYS[5]) + rcall("LLEN", KEYS[9])
end
rcall(pub, channel, "shutdown")
if remaining == 0 and nothingUnfinished(KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[9]) then
  rcall(pub, channel, "drained")
end
return remaining
