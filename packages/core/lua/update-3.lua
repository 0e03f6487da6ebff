--[[
  Records a held task's progress or appends a line to its log, only while this
  handle still holds the task.

  KEYS[1] job hash     (HASH)
  KEYS[2] job log      (LIST)
  KEYS[3] held         (SET)   the handle's "aq:held:<lease>"

  ARGV[1] job id
  ARGV[2] "progress" or "log"
  ARGV[3] the progress (JSON) or the log line
  ARGV[4] log lines kept per task

  Returns 1, or 0 when the handle no longer holds the task.
]]
local rcall = redis.call
if rcall("SISMEMBER", KEYS[3], ARGV[1]) == 0 or rcall("EXISTS", KEYS[1]) == 0 then
  return 0
end
if ARGV[2] == "progress" then
  rcall("HSET", KEYS[1], "progress", ARGV[3])
else
  rcall("RPUSH", KEYS[2], ARGV[3])
  rcall("LTRIM", KEYS[2], -tonumber(ARGV[4]), -1)
end
return 1
