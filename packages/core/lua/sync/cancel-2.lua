--[[
  Withdraws waits of a Lock or Semaphore (an aborted or timed-out acquire).
  Redis's order decides a race with a release: an id that was handed its
  permit before the cancel arrived keeps it, and its token is returned.

  KEYS[1] holders (HASH)  hold id -> "<fencing token> <since ms>"
  KEYS[2] queue   (ZSET)  waiting id -> arrival number

  ARGV[1], ARGV[2], ... ids to withdraw

  Returns per id: its fencing token (a string) when it already holds, else 0 (withdrawn, or gone).
]]
-- @include sync-lib
local out = {}
for i = 1, #ARGV do
  local held = rcall("HGET", KEYS[1], ARGV[i])
  if held then
    out[i] = string.match(held, "^%S+")
  else
    rcall("ZREM", KEYS[2], ARGV[i])
    out[i] = 0
  end
end
return out
