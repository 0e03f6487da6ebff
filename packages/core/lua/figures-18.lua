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
  KEYS[12] stats            (HASH)  "added", "completed", "failed", "retried", "reclaimed", "discarded", "cancelled"
  KEYS[13] want-room        (STRING) set while a producer waits for room
  KEYS[14] want-join        (STRING) set while a handle waits in join
  KEYS[15] workers          (HASH)  worker registry: id -> JSON info
  KEYS[16] heartbeats       (ZSET)  worker registry: id -> expiry (ms)
  KEYS[17] desired          (STRING) "<count> <who set it>"
  KEYS[18] cancelled        (ZSET)  cancelled tasks still kept
  (and, within the same hash tag: the job hashes of the oldest ready tasks)

  ARGV[1]  options (msgpack map):
           prefix        job key prefix

  Returns { meta exists (0/1), wait, paused, prioritized, delayed, active,
            waiting-children, stalled, completed, failed, cancelled, paused flag (0/1),
            shutdown or "", maxsize or "", want-room (0/1), want-join (0/1),
            added, completed, failed, retried, reclaimed, discarded, cancelled (totals, "" when unset),
            desired or "", n, the JSON infos of the n live workers,
            then a timestamp and opts (JSON) per oldest ready task candidate: the
            head and tail of wait, the tail of paused, the first prioritized }.
]]
-- @include queue-lib
local k = { wait = KEYS[1], paused = KEYS[2], prioritized = KEYS[3], delayed = KEYS[4], active = KEYS[5],
  waitingChildren = KEYS[6], stalled = KEYS[7], completed = KEYS[8], failed = KEYS[9], meta = KEYS[10],
  state = KEYS[11], stats = KEYS[12], wantRoom = KEYS[13], wantJoin = KEYS[14], workers = KEYS[15],
  heartbeats = KEYS[16], desired = KEYS[17], cancelled = KEYS[18] }
local o = options()
local r = {
  rcall("EXISTS", k.meta),
  -- Waiting: the wait list and the tasks parked in groups (groups-lib).
  rcall("LLEN", k.wait) + parkedCount(), rcall("LLEN", k.paused), rcall("ZCARD", k.prioritized), rcall("ZCARD", k.delayed),
  rcall("LLEN", k.active), rcall("ZCARD", k.waitingChildren), rcall("LLEN", k.stalled),
  rcall("ZCARD", k.completed), rcall("ZCARD", k.failed), rcall("ZCARD", k.cancelled),
  rcall("HEXISTS", k.meta, "paused"),
}
local state = rcall("HMGET", k.state, "shutdown", "maxsize")
r[#r + 1] = state[1] or ""
r[#r + 1] = state[2] or ""
r[#r + 1] = rcall("EXISTS", k.wantRoom)
r[#r + 1] = rcall("EXISTS", k.wantJoin)
for _, v in ipairs(rcall("HMGET", k.stats, "added", "completed", "failed", "retried", "reclaimed", "discarded", "cancelled")) do
  r[#r + 1] = v or ""
end
r[#r + 1] = rcall("GET", k.desired) or ""
local infos = {}
if rcall("EXISTS", k.heartbeats) == 1 then
  local live = rcall("ZRANGEBYSCORE", k.heartbeats, "(" .. nowMs(), "+inf")
  if #live > 0 then
    for _, info in ipairs(rcall("HMGET", k.workers, unpack(live))) do
      if info then infos[#infos + 1] = info end
    end
  end
end
r[#r + 1] = #infos
for _, info in ipairs(infos) do r[#r + 1] = info end
local ids = { rcall("LINDEX", k.wait, -1), rcall("LINDEX", k.wait, 0), rcall("LINDEX", k.paused, -1) }
local top = rcall("ZRANGE", k.prioritized, 0, 0)
ids[4] = top[1] or false
for i = 1, 4 do
  if ids[i] then
    local job = rcall("HMGET", o.prefix .. ids[i], "timestamp", "opts")
    r[#r + 1] = job[1] or ""
    r[#r + 1] = job[2] or ""
  end
end
return r
