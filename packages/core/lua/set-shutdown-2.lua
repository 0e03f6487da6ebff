--[[
  Shuts a queue down cluster-wide, or reopens it.

  KEYS[1] state         (HASH)
  KEYS[2] reservations  (ZSET)

  ARGV[1] pub/sub channel
  ARGV[2] "graceful", "immediate" or "reopen"

  A graceful shutdown never downgrades an immediate one. Reservations are
  dropped, so a put between reserving and adding sees the shutdown afterwards.
  Publishes "shutdown" or "reopen".
]]
local rcall = redis.call
if ARGV[2] == "reopen" then
  rcall("HDEL", KEYS[1], "shutdown")
  rcall("PUBLISH", ARGV[1], "reopen")
  return 1
end
if ARGV[2] == "immediate" or not rcall("HGET", KEYS[1], "shutdown") then
  rcall("HSET", KEYS[1], "shutdown", ARGV[2])
end
rcall("DEL", KEYS[2])
rcall("PUBLISH", ARGV[1], "shutdown")
return 1
