#!lua
--[[
  Creates or updates a schedule (see schedule-book.ts). An update with the same timing keeps the
  schedule's next due time, runs and history: producers may upsert the same schedule at every
  start without moving it; a new timing starts again from its first due time.

  KEYS[1]  schedules  (ZSET)   schedule id -> next due time (ms); +inf once it has ended

  ARGV[1]  options (msgpack map):
           prefix       the queue's key prefix (the schedule's hash is prefix .. "aq:schedule:" .. id)
           id           schedule id
           timing       its timing as JSON (what decides its due times)
           template     what each occurrence puts, as JSON
           limit        most occurrences in all, 0 for no limit
           catchUp      'none', 'one' or 'all'
           first        the first due time of this timing (ms), 0 if it has none

  Returns { status, next }: status "created", "changed" (a new timing) or "kept" (the same
  timing: next unchanged); next is the next due time, 0 when there is none.
]]
-- @include queue-lib
local k = { schedules = KEYS[1] }
local o = options()
local key = o.prefix .. "aq:schedule:" .. o.id
local timing = rcall("HGET", key, "timing")
rcall("HSET", key, "template", o.template, "limit", o.limit, "catchUp", o.catchUp)
if timing == o.timing then
  return { "kept", tonumber(rcall("HGET", key, "next")) or 0 }
end
local status = "changed"
if not timing then
  status = "created"
  rcall("HSET", key, "runs", 0, "skipped", 0, "last", 0, "lastAt", 0)
end
rcall("HSET", key, "timing", o.timing, "next", o.first)
if o.first > 0 then
  rcall("ZADD", k.schedules, o.first, o.id)
else
  rcall("ZADD", k.schedules, "+inf", o.id)
end
return { status, o.first }
