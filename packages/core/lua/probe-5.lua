--[[
  What a waiting get needs to know when it found nothing ready: whether the
  queue is shut down, and whether anything is still waiting or delayed.

  KEYS[1] state        (HASH)
  KEYS[2] wait         (LIST)
  KEYS[3] paused       (LIST)
  KEYS[4] prioritized  (ZSET)
  KEYS[5] delayed      (ZSET)

  Returns { shutdown mode or "", pending count }.
]]
local rcall = redis.call
local mode = rcall("HGET", KEYS[1], "shutdown") or ""
local pending = rcall("LLEN", KEYS[2]) + rcall("LLEN", KEYS[3]) + rcall("ZCARD", KEYS[4])
  + rcall("ZCARD", KEYS[5])
return { mode, pending }
