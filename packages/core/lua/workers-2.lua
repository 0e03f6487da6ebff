--[[
  The registry of live workers of a queue: a worker beats (registers or
  refreshes itself), leaves, or anyone lists the live ones. A worker whose
  heartbeat is older than its TTL drops out at the next listing.

  KEYS[1] workers     (HASH)  worker id -> JSON info
  KEYS[2] heartbeats  (ZSET)  worker id -> expiry (ms)

  ARGV[1] "beat", "leave" or "list"
  ARGV[2] worker id (beat, leave)
  ARGV[3] JSON info (beat)
  ARGV[4] TTL in ms (beat)

  Returns the JSON infos of live workers for "list", else 1.
]]
local rcall = redis.call
local t = rcall("TIME")
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if ARGV[1] == "beat" then
  rcall("HSET", KEYS[1], ARGV[2], ARGV[3])
  rcall("ZADD", KEYS[2], now + tonumber(ARGV[4]), ARGV[2])
  return 1
elseif ARGV[1] == "leave" then
  rcall("HDEL", KEYS[1], ARGV[2])
  rcall("ZREM", KEYS[2], ARGV[2])
  return 1
end
local expired = rcall("ZRANGEBYSCORE", KEYS[2], "-inf", now)
for _, id in ipairs(expired) do
  rcall("HDEL", KEYS[1], id)
end
rcall("ZREMRANGEBYSCORE", KEYS[2], "-inf", now)
return rcall("HVALS", KEYS[1])
