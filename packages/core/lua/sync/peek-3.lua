--[[
  Reads how taken a Lock or Semaphore is, for locked(): only reads.

  KEYS[1] state   (HASH)  "value", "extra"
  KEYS[2] holders (HASH)  hold id -> "<fencing token> <since ms>"
  KEYS[3] queue   (ZSET)  waiting id -> arrival number

  No ARGV.

  Returns { value (-1 when it does not exist yet), permits added by releases, holders, waiters }.
]]
-- @include sync-lib
local f = rcall("HMGET", KEYS[1], "value", "extra")
return { tonumber(f[1]) or -1, tonumber(f[2]) or 0, rcall("HLEN", KEYS[2]), rcall("ZCARD", KEYS[3]) }
