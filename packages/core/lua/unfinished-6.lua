--[[
  Counts unfinished tasks (what join waits for) and signals on the queue's
  channel: a joiner announces itself, a consumer that just finished a task
  tells joiners when nothing is left.

  KEYS[1] wait              (LIST)
  KEYS[2] paused            (LIST)
  KEYS[3] prioritized       (ZSET)
  KEYS[4] delayed           (ZSET)
  KEYS[5] active            (LIST)
  KEYS[6] waiting-children  (ZSET)

  ARGV[1] pub/sub channel
  ARGV[2] mode: "announce" publishes "want-join" when count > 0,
                "notify" publishes "drained" when count == 0,
                anything else only counts

  Returns the count.
]]
local rcall = redis.call
local n = rcall("LLEN", KEYS[1]) + rcall("LLEN", KEYS[2]) + rcall("ZCARD", KEYS[3])
  + rcall("ZCARD", KEYS[4]) + rcall("LLEN", KEYS[5]) + rcall("ZCARD", KEYS[6])
if ARGV[2] == "announce" and n > 0 then
  rcall("PUBLISH", ARGV[1], "want-join")
elseif ARGV[2] == "notify" and n == 0 then
  rcall("PUBLISH", ARGV[1], "drained")
end
return n
