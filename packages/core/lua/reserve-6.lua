--[[
  Reserves room for one put: checks the shutdown flag and maxsize atomically,
  so that concurrent producers in any process never overfill the queue.

  KEYS[1] state         (HASH)  asyncq state: field "shutdown"
  KEYS[2] reservations  (ZSET)  token -> expiry (ms); room taken but not yet added
  KEYS[3] wait          (LIST)  BullMQ
  KEYS[4] paused        (LIST)  BullMQ
  KEYS[5] prioritized   (ZSET)  BullMQ
  KEYS[6] delayed       (ZSET)  BullMQ

  ARGV[1] maxsize (> 0)
  ARGV[2] reservation token
  ARGV[3] reservation lifetime in ms (a producer that dies mid-put frees its room after this)
  ARGV[4] pub/sub channel; "" to stay quiet when full

  Returns 1 reserved, 0 full (and "want-room" published when ARGV[4] is set), -1 shut down.
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
if used >= tonumber(ARGV[1]) then
  if ARGV[4] ~= "" then
    rcall("PUBLISH", ARGV[4], "want-room")
  end
  return 0
end
rcall("ZADD", KEYS[2], now + tonumber(ARGV[3]), ARGV[2])
return 1
