#!lua flags=allow-oom
--[[
  How a task ended, for result(): its result or its failure, or that it has
  not finished yet (and then the caller announces it waits for results).

  KEYS[1]  the job hash      (HASH)
  KEYS[2]  failed            (ZSET)
  KEYS[3]  want-result       (STRING) set while a handle waits for a result

  ARGV[1]  options (msgpack map):
           id            the job id
           announceMs    > 0: announce a result waiter for that long while the task is unfinished

  Returns { "missing" } when there is no such task, { "pending" } while it is
  unfinished, else { "completed", returnvalue } or { "failed", failedReason, stacktrace }.
]]
-- @include queue-lib
local k = { job = KEYS[1], failed = KEYS[2], wantResult = KEYS[3] }
local o = options()
local f = rcall("HMGET", k.job, "finishedOn", "returnvalue", "failedReason", "stacktrace", "name")
if not f[1] then
  if not f[5] and rcall("EXISTS", k.job) == 0 then
    return { "missing" }
  end
  if o.announceMs > 0 then
    rcall("SET", k.wantResult, "1", "PX", o.announceMs)
  end
  return { "pending" }
end
if rcall("ZSCORE", k.failed, o.id) then
  return { "failed", f[3] or "", f[4] or "[]" }
end
return { "completed", f[2] or "null" }
