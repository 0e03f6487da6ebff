--[[
  How a task ended, for result(): its result or its failure, or that it has
  not finished yet (and then the caller announces it waits for results).

  KEYS[1] job hash     (HASH)
  KEYS[2] failed       (ZSET)
  KEYS[3] want-result  (STRING)

  ARGV[1] job id
  ARGV[2] ms to stay announced as waiting for a result if unfinished (0: only read)

  Returns { "missing" } when there is no such task, { "pending" } while it is
  unfinished, else { "completed", returnvalue } or { "failed", failedReason, stacktrace }.
]]
local rcall = redis.call
local f = rcall("HMGET", KEYS[1], "finishedOn", "returnvalue", "failedReason", "stacktrace", "name")
if not f[1] then
  if not f[5] and rcall("EXISTS", KEYS[1]) == 0 then
    return { "missing" }
  end
  if tonumber(ARGV[2]) > 0 then
    rcall("SET", KEYS[3], "1", "PX", ARGV[2])
  end
  return { "pending" }
end
if rcall("ZSCORE", KEYS[2], ARGV[1]) then
  return { "failed", f[3] or "", f[4] or "[]" }
end
return { "completed", f[2] or "null" }
