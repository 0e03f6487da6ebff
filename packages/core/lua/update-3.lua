#!lua flags=allow-oom
--[[
  Records a held task's progress or appends a line to its log, only while this
  handle still holds the task.

  KEYS[1]  the job hash  (HASH)
  KEYS[2]  its log       (LIST)
  KEYS[3]  the held set of the handle's lease (SET)

  ARGV[1]  options (msgpack map):
           prefix        job key prefix
           id            the job id
           kind          "progress" or "log"
           value         the progress (JSON) or the log line
           keepLogs      log lines to keep
           lease         the handle's lease (its holder, as the job hash names it)
           handle, rid, forget, deadline, logTtlMs   the request log (see queue-lib)

  Returns 1, or 0 when the handle no longer holds the task (-1 for a call the client gave up on).
]]
-- @include queue-lib
local k = { job = KEYS[1], logs = KEYS[2], held = KEYS[3] }
local o = options()
local now = nowMs()
local prior = recall(o.prefix, o)
if prior then
  return prior.r
end
if pastDeadline(o, now) then
  return -1
end
forgetAnswered(o.prefix, o)
if (rcall("SISMEMBER", k.held, o.id) == 0 and rcall("HGET", k.job, "pb") ~= o.lease) or rcall("EXISTS", k.job) == 0 then
  return 0
end
if o.kind == "progress" then
  rcall("HSET", k.job, "progress", o.value)
else
  rcall("RPUSH", k.logs, o.value)
  rcall("LTRIM", k.logs, -o.keepLogs, -1)
end
remember(o.prefix, o, { r = 1 })
return 1
