--[[
  Drops a put's reservation once its task is added (or the put gave up), and
  reports the shutdown flag so a put that raced a shutdown can take itself back.

  KEYS[1] state         (HASH)
  KEYS[2] reservations  (ZSET)

  ARGV[1] reservation token

  Returns the shutdown mode ("graceful" or "immediate"), or false when open.
]]
redis.call("ZREM", KEYS[2], ARGV[1])
return redis.call("HGET", KEYS[1], "shutdown")
