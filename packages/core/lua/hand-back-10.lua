--[[
  Hands tasks a handle holds back to the front of the queue, at once (on
  close, for a task fetched ahead that no get claimed, or for a get that gave up).
  Not a failed attempt and not a stall. A task that would put the queue over the
  maxsize producers use waits in the stalled list instead, ahead of any new put.

  KEYS[1] wait         (LIST)
  KEYS[2] active       (LIST)
  KEYS[3] prioritized  (ZSET)
  KEYS[4] leases       (ZSET)
  KEYS[5] pc           (STRING)
  KEYS[6] want-task    (STRING)
  KEYS[7] stalled      (LIST)  where tasks wait when the queue is at maxsize
  KEYS[8] state        (HASH)  "maxsize" producers use
  KEYS[9] paused       (LIST)
  KEYS[10] delayed     (ZSET)

  ARGV[1] job key prefix
  ARGV[2] pub/sub channel
  ARGV[3] "PUBLISH" or "SPUBLISH"
  ARGV[4] lease id of this handle
  ARGV[5] "1" for a LIFO queue
  ARGV[6] "all" (every task under the lease, which then ends), or a count k followed by k job ids

  Returns how many tasks went back.
]]
-- @include queue-lib
local prefix, channel, pub, lease = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local lifo = ARGV[5] == "1"
local heldKey = prefix .. "aq:held:" .. lease
local ids
if ARGV[6] == "all" then
  ids = rcall("SMEMBERS", heldKey)
  rcall("DEL", heldKey)
else
  ids = {}
  for i = 1, tonumber(ARGV[6]) do
    if rcall("SREM", heldKey, ARGV[6 + i]) == 1 then
      ids[#ids + 1] = ARGV[6 + i]
    end
  end
end
local keys = { wait = KEYS[1], prioritized = KEYS[3], pc = KEYS[5], stalled = KEYS[7], state = KEYS[8], paused = KEYS[9], delayed = KEYS[10] }
local room = roomUnderMaxsize(KEYS[8], KEYS[1], KEYS[9], KEYS[3], KEYS[10], KEYS[7])
local back = 0
-- Given ids come oldest first: pushing them in reverse leaves the oldest at the very front.
for i = #ids, 1, -1 do
  local id = ids[i]
  if rcall("LREM", KEYS[2], -1, id) > 0 and rcall("EXISTS", prefix .. id) == 1 then
    rcall("HDEL", prefix .. id, "pb")
    room = comeBack(prefix, keys, id, room, true, lifo)
    back = back + 1
  end
end
if ARGV[6] == "all" then
  rcall("ZREM", KEYS[4], lease)
end
if back > 0 and rcall("EXISTS", KEYS[6]) == 1 then
  rcall("DEL", KEYS[6])
  rcall(pub, channel, "task")
end
return back
