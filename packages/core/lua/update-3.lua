--[[
  Records a held task's progress or appends a line to its log, only while this
  handle still holds the task.

  KEYS[1]  the job hash  (HASH)
  KEYS[2]  its log       (LIST)
  KEYS[3]  the held set of the handle's lease (SET)

  ARGV[1]  options (msgpack map):
           id            the job id
           kind          "progress" or "log"
           value         the progress (JSON) or the log line
           keepLogs      log lines to keep

  Returns 1, or 0 when the handle no longer holds the task.
]]
-- @include queue-lib
local k = { job = KEYS[1], logs = KEYS[2], held = KEYS[3] }
local o = options()
if rcall("SISMEMBER", k.held, o.id) == 0 or rcall("EXISTS", k.job) == 0 then
  return 0
end
if o.kind == "progress" then
  rcall("HSET", k.job, "progress", o.value)
else
  rcall("RPUSH", k.logs, o.value)
  rcall("LTRIM", k.logs, -o.keepLogs, -1)
end
return 1
