#!lua flags=allow-oom
--[[
  How tasks ended, for result waiters, many at a time: each task's result, its
  failure, its cancel, or that it has not finished yet (and then the caller
  announces that it waits for results, so finishing scripts tell it).

  KEYS[1]  want-result      (STRING) set while a handle waits for a result
  (and, within the same hash tag: the job hashes)

  ARGV[1]  options (msgpack map):
           prefix        job key prefix
           announceMs    > 0: announce a result waiter for that long while a task is unfinished
  ARGV[2...] job ids

  Returns a flat list, per id: "m" (no such task), "p" (unfinished), "c", result
  (completed), "f", reason, stacks (failed for good) or "x", reason, by (cancelled).
]]
-- @include queue-lib
local k = { wantResult = KEYS[1] }
local o = options()
local out = {}
local pending = false
for i = 2, #ARGV do
  local f = rcall("HMGET", o.prefix .. ARGV[i], "finishedOn", "returnvalue", "failedReason", "stacktrace", "cancelledOn", "cancelReason", "cancelBy", "name", "timestamp")
  if f[5] then
    out[#out + 1] = "x"; out[#out + 1] = f[6] or ""; out[#out + 1] = f[7] or ""
  elseif f[1] and f[2] then
    -- A result kept: completed (a failed attempt before it left its failedReason behind).
    out[#out + 1] = "c"; out[#out + 1] = f[2]
  elseif f[1] then
    out[#out + 1] = "f"; out[#out + 1] = f[3] or ""; out[#out + 1] = f[4] or "[]"
  elseif not f[8] and not f[9] and rcall("EXISTS", o.prefix .. ARGV[i]) == 0 then
    out[#out + 1] = "m"
  else
    out[#out + 1] = "p"
    pending = true
  end
end
if pending and o.announceMs > 0 then
  rcall("SET", k.wantResult, "1", "PX", o.announceMs)
end
return out
