#!lua
--[[
  Claims one firing of a schedule, exactly once however many processes attempt it: only the call
  that finds the schedule's next due time (and timing) as its caller read them advances it. The
  occurrences it claims enter the outbox in the same step; the caller then puts each under its
  deterministic id (schedule id and due time) and removes it from the outbox. An occurrence whose
  caller died between the two steps is put again by the next firing (see schedule-due-2.lua); the
  put's dedup id keeps that from adding it twice.

  KEYS[1]  schedules  (ZSET)   schedule id -> next due time (ms); +inf once ended
  KEYS[2]  outbox     (ZSET)   occurrence JSON -> when it was claimed (ms)

  ARGV[1]  options (msgpack map):
           prefix       the queue's key prefix
           id           schedule id
           timing       the timing the caller planned with (JSON)
           expect       the next due time the caller read (ms)
           next         the next due time after this firing (ms), 0 when the schedule ends
           last         the latest due time fired (ms), 0 for none
           skipped      occurrences skipped as missed
           now          the clock (ms) the caller planned with
  ARGV[2...] occurrences to put, as JSON

  Returns 1 when claimed, 0 when another process already fired it (or the schedule changed or went).
]]
-- @include queue-lib
local k = { schedules = KEYS[1], outbox = KEYS[2] }
local o = options()
local key = o.prefix .. "aq:schedule:" .. o.id
local h = rcall("HMGET", key, "timing", "next")
if h[1] ~= o.timing or tonumber(h[2]) ~= o.expect then
  return 0
end
rcall("HSET", key, "next", o.next)
if o.next > 0 then
  rcall("ZADD", k.schedules, o.next, o.id)
else
  rcall("ZADD", k.schedules, "+inf", o.id)
end
local fired = #ARGV - 1
if fired > 0 then
  rcall("HSET", key, "last", o.last, "lastAt", o.now)
  rcall("HINCRBY", key, "runs", fired)
  for i = 2, #ARGV do
    rcall("ZADD", k.outbox, o.now, ARGV[i])
  end
end
if o.skipped > 0 then
  rcall("HINCRBY", key, "skipped", o.skipped)
end
return 1
