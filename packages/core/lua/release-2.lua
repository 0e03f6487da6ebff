--[[
  Drops a reservation once its tasks are added (or the put gave up), and
  reports the shutdown flag so a put that raced a shutdown can take itself back.

  KEYS[1] state         (HASH)
  KEYS[2] reservations  (ZSET)

  ARGV[1] reservation token
  ARGV[2] how many were reserved under it

  Returns the shutdown mode ("graceful" or "immediate"), or false when open.
]]
for i = 1, tonumber(ARGV[2]) do
  redis.call("ZREM", KEYS[2], ARGV[1] .. ":" .. i)
end
return redis.call("HGET", KEYS[1], "shutdown")
