--[[
  A registry of live processes of a queue (workers, or fleet supervisors): one
  beats (registers or refreshes itself, and prunes entries whose heartbeat
  expired), leaves, or anyone lists the live ones. Listing only reads, so
  read-only tools never write.

  KEYS[1] entries     (HASH)  id -> JSON info
  KEYS[2] heartbeats  (ZSET)  id -> expiry (ms)

  ARGV[1] "beat", "leave" or "list"
  ARGV[2] id (beat, leave)
  ARGV[3] JSON info (beat)
  ARGV[4] TTL in ms (beat)

  Returns the JSON infos of live entries for "list", else 1.
]]
-- @include queue-lib
local now = nowMs()
if ARGV[1] == "beat" then
  rcall("HSET", KEYS[1], ARGV[2], ARGV[3])
  rcall("ZADD", KEYS[2], now + tonumber(ARGV[4]), ARGV[2])
  local expired = rcall("ZRANGEBYSCORE", KEYS[2], "-inf", now)
  if #expired > 0 then
    rcall("HDEL", KEYS[1], unpack(expired))
    rcall("ZREMRANGEBYSCORE", KEYS[2], "-inf", now)
  end
  return 1
elseif ARGV[1] == "leave" then
  rcall("HDEL", KEYS[1], ARGV[2])
  rcall("ZREM", KEYS[2], ARGV[2])
  return 1
end
local live = rcall("ZRANGEBYSCORE", KEYS[2], "(" .. now, "+inf")
if #live == 0 then
  return {}
end
local infos = {}
for _, info in ipairs(rcall("HMGET", KEYS[1], unpack(live))) do
  if info then infos[#infos + 1] = info end
end
return infos
