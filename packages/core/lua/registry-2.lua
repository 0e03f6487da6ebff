#!lua flags=allow-oom
--[[
  A registry of live processes of a queue (workers, or fleet supervisors): one
  beats (registers or refreshes itself, and prunes entries whose heartbeat
  expired), leaves, or anyone lists the live ones. Listing only reads, so
  read-only tools never write.

  KEYS[1]  entries     (HASH) id -> JSON info
  KEYS[2]  heartbeats  (ZSET) id -> expiry (ms)

  ARGV[1]  options (msgpack map):
           op            "beat", "leave" or "list"
           id            the entry's id (beat, leave)
           info          its JSON info (beat)
           ttlMs         how long a beat keeps it live (beat)

  Returns the JSON infos of live entries for "list", else 1.
]]
-- @include queue-lib
local k = { entries = KEYS[1], heartbeats = KEYS[2] }
local o = options()
local now = nowMs()
if o.op == "beat" then
  rcall("HSET", k.entries, o.id, o.info)
  rcall("ZADD", k.heartbeats, now + o.ttlMs, o.id)
  local expired = rcall("ZRANGEBYSCORE", k.heartbeats, "-inf", now)
  if #expired > 0 then
    rcall("HDEL", k.entries, unpack(expired))
    rcall("ZREMRANGEBYSCORE", k.heartbeats, "-inf", now)
  end
  return 1
elseif o.op == "leave" then
  rcall("HDEL", k.entries, o.id)
  rcall("ZREM", k.heartbeats, o.id)
  return 1
end
local live = rcall("ZRANGEBYSCORE", k.heartbeats, "(" .. now, "+inf")
if #live == 0 then
  return {}
end
local infos = {}
for _, info in ipairs(rcall("HMGET", k.entries, unpack(live))) do
  if info then infos[#infos + 1] = info end
end
return infos
