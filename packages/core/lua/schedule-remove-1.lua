#!lua flags=allow-oom
--[[
  Removes a schedule: no occurrence of it is enqueued after this (those already put stay).

  KEYS[1]  schedules  (ZSET)   schedule id -> next due time (ms)

  ARGV[1]  options (msgpack map):
           prefix       the queue's key prefix
           id           schedule id

  Returns 1 when the schedule existed, else 0.
]]
-- @include queue-lib
local k = { schedules = KEYS[1] }
local o = options()
rcall("DEL", o.prefix .. "aq:schedule:" .. o.id)
return rcall("ZREM", k.schedules, o.id)
