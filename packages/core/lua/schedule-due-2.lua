#!lua flags=allow-oom
--[[
  Reads what a firing needs (see schedule-book.ts): the schedules whose next occurrence is due,
  and the occurrences claimed a while ago whose put was never confirmed (the process that claimed
  them died, or Redis lost the put), to put again under the same id. Writes nothing.

  KEYS[1]  schedules  (ZSET)   schedule id -> next due time (ms); +inf once ended
  KEYS[2]  outbox     (ZSET)   occurrence JSON -> when it was claimed (ms)

  ARGV[1]  options (msgpack map):
           prefix       the queue's key prefix
           now          the clock to use (ms), 0 for Redis's own (TIME); tests move it
           max          most schedules to return
           staleMs      an occurrence claimed this long ago and still in the outbox is put again

  Returns { now, nextDue, due, stale }: nextDue is the earliest due time after now (0: none); due a
  list of { id, timing, template, limit, catchUp, next, runs }; stale a list of occurrence JSON.
]]
-- @include queue-lib
local k = { schedules = KEYS[1], outbox = KEYS[2] }
local o = options()
local now = o.now
if now == 0 then now = nowMs() end
local due = {}
for _, id in ipairs(rcall("ZRANGEBYSCORE", k.schedules, "-inf", now, "LIMIT", 0, o.max)) do
  local h = rcall("HMGET", o.prefix .. "aq:schedule:" .. id, "timing", "template", "limit", "catchUp", "next", "runs")
  if h[1] then
    due[#due + 1] = { id, h[1], h[2], h[3], h[4], h[5], h[6] }
  end
end
local nextDue = 0
local later = rcall("ZRANGEBYSCORE", k.schedules, "(" .. now, "+inf", "WITHSCORES", "LIMIT", 0, 1)
if later[2] and later[2] ~= "inf" then nextDue = tonumber(later[2]) end
local stale = rcall("ZRANGEBYSCORE", k.outbox, "-inf", now - o.staleMs, "LIMIT", 0, 100)
return { now, nextDue, due, stale }
