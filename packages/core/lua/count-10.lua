#!lua flags=allow-oom
--[[
  What join, shutdown and admin reads need in one atomic read: tasks by
  state, the shutdown flag, the queue's epoch (set at its first put: when it
  changes or vanishes, Redis lost the queue's data), the monotonic totals,
  and the queue's ledger: how many tasks should be unfinished by the totals
  (put, plus revived by a retry, less completed, failed for good, discarded,
  removed, vanished and already written off) against how many are. Fewer than
  the ledger says are missing: Redis lost them (an eviction, a key deleted by
  hand). A joiner also announces itself here, so consumers tell it when
  nothing is left, and books losses once it has told its caller.

  KEYS[1]  wait             (LIST)
  KEYS[2]  paused           (LIST)
  KEYS[3]  prioritized      (ZSET)
  KEYS[4]  delayed          (ZSET)
  KEYS[5]  active           (LIST)
  KEYS[6]  waiting-children (ZSET)
  KEYS[7]  state            (HASH)   asyncq: "shutdown", "epoch"
  KEYS[8]  want-join        (STRING) set while a handle waits in join
  KEYS[9]  stats            (HASH)   asyncq totals (see the ledger above) and losses written off:
                                     "lostMissing" (found missing), "lostRollback" (Redis went back
                                     in time: a failover to a replica that had not caught up)
  KEYS[10] stalled          (LIST)   tasks back from a consumer, waiting for room under maxsize

  ARGV[1]  options (msgpack map):
           announceMs    > 0: announce a joiner for that long while tasks are unfinished
           bookMissing   (optional) write off up to this many missing tasks: the caller told of them
           bookRollback  (optional) record this many tasks lost to Redis going back in time

  Returns { wait, paused, prioritized, delayed, active, waiting-children,
            shutdown mode or "", epoch or "", added, stalled,
            lost (every loss recorded: written off, rolled back, vanished), missing (now, unbooked) }.
]]
-- @include queue-lib
local k = { wait = KEYS[1], paused = KEYS[2], prioritized = KEYS[3], delayed = KEYS[4], active = KEYS[5],
  waitingChildren = KEYS[6], state = KEYS[7], wantJoin = KEYS[8], stats = KEYS[9], stalled = KEYS[10] }
local o = options()
-- Waiting: the wait list and the tasks parked in groups (groups-lib).
local c = {
  rcall("LLEN", k.wait) + parkedCount(), rcall("LLEN", k.paused), rcall("ZCARD", k.prioritized),
  rcall("ZCARD", k.delayed), rcall("LLEN", k.active), rcall("ZCARD", k.waitingChildren),
}
local stalled = rcall("LLEN", k.stalled)
local unfinished = c[1] + c[2] + c[3] + c[4] + c[5] + c[6] + stalled
local t = ledger(k)
local missing = math.max(0, t.expected - unfinished)
if o.bookMissing and o.bookMissing > 0 and missing > 0 then
  local m = math.min(o.bookMissing, missing)
  rcall("HINCRBY", k.stats, "lostMissing", m)
  t.lost = t.lost + m
  missing = missing - m
end
if o.bookRollback and o.bookRollback > 0 then
  rcall("HINCRBY", k.stats, "lostRollback", o.bookRollback)
  t.lost = t.lost + o.bookRollback
end
if o.announceMs > 0 and unfinished > 0 then
  rcall("SET", k.wantJoin, "1", "PX", o.announceMs)
end
local state = rcall("HMGET", k.state, "shutdown", "epoch")
c[7] = state[1] or ""
c[8] = state[2] or ""
c[9] = t.added
c[10] = stalled
c[11] = t.lost
c[12] = missing
return c
