--[[
  Everything an exporter or dashboard shows of one queue (or partition), in one
  read, so that many queues are read with one command each: tasks by state,
  whether the queue exists, pause, shutdown, the maxsize gate, who waits, the
  monotonic totals, the live workers and the desired worker count, and the
  oldest ready tasks' timestamps. Only reads.

  KEYS[1]  wait             (LIST)
  KEYS[2]  paused           (LIST)
  KEYS[3]  prioritized      (ZSET)
  KEYS[4]  delayed          (ZSET)
  KEYS[5]  active           (LIST)
  KEYS[6]  waiting-children (ZSET)
  KEYS[7]  stalled          (LIST)  tasks back from a consumer, waiting for room under maxsize
  KEYS[8]  completed        (ZSET)
  KEYS[9]  failed           (ZSET)
  KEYS[10] meta             (HASH)  BullMQ: its presence makes the queue exist; field "paused"
  KEYS[11] state            (HASH)  asyncq: "shutdown", "maxsize"
  KEYS[12] stats            (HASH)  "added", "completed", "failed", "retried", "reclaimed", "discarded"
  KEYS[13] want-room        (STRING) set while a producer waits for room
  KEYS[14] want-join        (STRING) set while a handle waits in join
  KEYS[15] workers          (HASH)  worker registry: id -> JSON info
  KEYS[16] heartbeats       (ZSET)  worker registry: id -> expiry (ms)
  KEYS[17] desired          (STRING) "<count> <who set it>"
  (and, within the same hash tag: the job hashes of the oldest ready tasks)

  ARGV[1]  job key prefix

  Returns { meta exists (0/1), wait, paused, prioritized, delayed, active,
            waiting-children, stalled, completed, failed, paused flag (0/1),
            shutdown or "", maxsize or "", want-room (0/1), want-join (0/1),
            added, completed, failed, retried, reclaimed, discarded (totals, "" when unset),
            desired or "", n, the JSON infos of the n live workers,
            then a timestamp and opts (JSON) per oldest ready task candidate: the
            head and tail of wait, the tail of paused, the first prioritized }.
]]
-- @include queue-lib
local r = {
  rcall("EXISTS", KEYS[10]),
  rcall("LLEN", KEYS[1]), rcall("LLEN", KEYS[2]), rcall("ZCARD", KEYS[3]), rcall("ZCARD", KEYS[4]),
  rcall("LLEN", KEYS[5]), rcall("ZCARD", KEYS[6]), rcall("LLEN", KEYS[7]),
  rcall("ZCARD", KEYS[8]), rcall("ZCARD", KEYS[9]),
  rcall("HEXISTS", KEYS[10], "paused"),
}
local state = rcall("HMGET", KEYS[11], "shutdown", "maxsize")
r[#r + 1] = state[1] or ""
r[#r + 1] = state[2] or ""
r[#r + 1] = rcall("EXISTS", KEYS[13])
r[#r + 1] = rcall("EXISTS", KEYS[14])
for _, v in ipairs(rcall("HMGET", KEYS[12], "added", "completed", "failed", "retried", "reclaimed", "discarded")) do
  r[#r + 1] = v or ""
end
r[#r + 1] = rcall("GET", KEYS[17]) or ""
local infos = {}
if rcall("EXISTS", KEYS[16]) == 1 then
  local live = rcall("ZRANGEBYSCORE", KEYS[16], "(" .. nowMs(), "+inf")
  if #live > 0 then
    for _, info in ipairs(rcall("HMGET", KEYS[15], unpack(live))) do
      if info then infos[#infos + 1] = info end
    end
  end
end
r[#r + 1] = #infos
for _, info in ipairs(infos) do r[#r + 1] = info end
local ids = { rcall("LINDEX", KEYS[1], -1), rcall("LINDEX", KEYS[1], 0), rcall("LINDEX", KEYS[2], -1) }
local top = rcall("ZRANGE", KEYS[3], 0, 0)
ids[4] = top[1] or false
for i = 1, 4 do
  if ids[i] then
    local job = rcall("HMGET", ARGV[1] .. ids[i], "timestamp", "opts")
    r[#r + 1] = job[1] or ""
    r[#r + 1] = job[2] or ""
  end
end
return r
