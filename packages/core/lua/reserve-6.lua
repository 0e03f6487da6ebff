--[[
  Reserves room for up to ARGV[5] puts: checks the shutdown flag and maxsize
  atomically, so that concurrent producers in any process never overfill the
  queue. Room is held by members "<token>:<i>" until the tasks are added.

  KEYS[1] state         (HASH)  asyncq state: field "shutdown"
  KEYS[2] reservations  (ZSET)  member -> expiry (ms); room taken but not yet added
  KEYS[3] wait          (LIST)  BullMQ
  KEYS[4] paused        (LIST)  BullMQ
  KEYS[5] prioritized   (ZSET)  BullMQ
  KEYS[6] delayed       (ZSET)  BullMQ

  ARGV[1] maxsize (> 0)
  ARGV[2] reservation token
  ARGV[3] reservation lifetime in ms (a producer that dies mid-put frees its room after this)
  ARGV[4] pub/sub channel; "" to stay quiet when full
  ARGV[5] how many puts want room

  Returns how many were granted (1..ARGV[5]); 0 when full (and "want-room"
  published when ARGV[4] is set); -1 when shut down.
]]
local rcall = redis.call
if rcall("HGET", KEYS[1], "shutdown") then
  return -1
end
local t = rcall("TIME")
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
rcall("ZREMRANGEBYSCORE", KEYS[2], "-inf", now)
local used = rcall("LLEN", KEYS[3]) + rcall("LLEN", KEYS[4]) + rcall("ZCARD", KEYS[5])
  + rcall("ZCARD", KEYS[6]) + rcall("ZCARD", KEYS[2])
local granted = math.min(tonumber(ARGV[1]) - used, tonumber(ARGV[5]))
if granted <= 0 then
  if ARGV[4] ~= "" then
    rcall("PUBLISH", ARGV[4], "want-room")
  end
  return 0
end
local expiry = now + tonumber(ARGV[3])
for i = 1, granted do
  rcall("ZADD", KEYS[2], expiry, ARGV[2] .. ":" .. i)
end
return granted
