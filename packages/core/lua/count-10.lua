--[[
  What join, shutdown and admin reads need in one atomic read: tasks by
  state, the shutdown flag, the queue's epoch (set at its first put: when it
  changes or vanishes, Redis lost the queue's data) and the monotonic totals.
  A joiner also announces itself here, so consumers tell it when nothing is left.

  KEYS[1]  wait             (LIST)
  KEYS[2]  paused           (LIST)
  KEYS[3]  prioritized      (ZSET)
  KEYS[4]  delayed          (ZSET)
  KEYS[5]  active           (LIST)
  KEYS[6]  waiting-children (ZSET)
  KEYS[7]  state            (HASH)   asyncq: "shutdown", "epoch"
  KEYS[8]  want-join        (STRING) set while a handle waits in join
  KEYS[9]  stats            (HASH)   asyncq totals: "added"
  KEYS[10] stalled          (LIST)   tasks back from a consumer, waiting for room under maxsize

  ARGV[1]  options (msgpack map):
           announceMs    > 0: announce a joiner for that long while tasks are unfinished

  Returns { wait, paused, prioritized, delayed, active, waiting-children,
            shutdown mode or "", epoch or "", added, stalled }.
]]
-- @include queue-lib
local k = { wait = KEYS[1], paused = KEYS[2], prioritized = KEYS[3], delayed = KEYS[4], active = KEYS[5],
  waitingChildren = KEYS[6], state = KEYS[7], wantJoin = KEYS[8], stats = KEYS[9], stalled = KEYS[10] }
local o = options()
if o.announceMs > 0 and not nothingUnfinished(k) then
  rcall("SET", k.wantJoin, "1", "PX", o.announceMs)
end
local state = rcall("HMGET", k.state, "shutdown", "epoch")
return {
  rcall("LLEN", k.wait), rcall("LLEN", k.paused), rcall("ZCARD", k.prioritized),
  rcall("ZCARD", k.delayed), rcall("LLEN", k.active), rcall("ZCARD", k.waitingChildren),
  state[1] or "", state[2] or "", tonumber(rcall("HGET", k.stats, "added") or "0"), rcall("LLEN", k.stalled),
}
