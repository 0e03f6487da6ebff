--[[
  What join, shutdown and admin reads need in one atomic read: tasks by
  state, the shutdown flag, the queue's epoch (set at its first put: when it
  changes or vanishes, Redis lost the queue's data) and the monotonic totals.
  A joiner also announces itself here, so consumers tell it when nothing is left.

  KEYS[1] wait             (LIST)
  KEYS[2] paused           (LIST)
  KEYS[3] prioritized      (ZSET)
  KEYS[4] delayed          (ZSET)
  KEYS[5] active           (LIST)
  KEYS[6] waiting-children (ZSET)
  KEYS[7] state            (HASH)  "shutdown", "epoch"
  KEYS[8] want-join        (STRING)
  KEYS[9] stats            (HASH)  "added", "completed", "failed", ...
  KEYS[10] stalled         (LIST)  tasks back from a consumer, waiting for room under maxsize

  ARGV[1] ms to stay announced as a joiner when tasks are unfinished (0: only read)

  Returns { wait, paused, prioritized, delayed, active, waiting-children,
            shutdown mode or "", epoch or "", added, stalled }.
]]
local rcall = redis.call
local c = {
  rcall("LLEN", KEYS[1]), rcall("LLEN", KEYS[2]), rcall("ZCARD", KEYS[3]),
  rcall("ZCARD", KEYS[4]), rcall("LLEN", KEYS[5]), rcall("ZCARD", KEYS[6]),
}
local stalled = rcall("LLEN", KEYS[10])
local state = rcall("HMGET", KEYS[7], "shutdown", "epoch")
local unfinished = c[1] + c[2] + c[3] + c[4] + c[5] + c[6] + stalled
if unfinished > 0 and tonumber(ARGV[1]) > 0 then
  rcall("SET", KEYS[8], "1", "PX", ARGV[1])
end
c[7] = state[1] or ""
c[8] = state[2] or ""
c[9] = tonumber(rcall("HGET", KEYS[9], "added") or "0")
c[10] = stalled
return c
