#!lua flags=allow-oom
--[[
  Hands tasks a handle holds back to the front of the queue, at once (on
  close, for a task fetched ahead that no get claimed, or for a get that gave up).
  Not a failed attempt and not a stall. A task that would put the queue over the
  maxsize producers use waits in the stalled list instead, ahead of any new put.

  KEYS[1]  wait        (LIST)
  KEYS[2]  active      (LIST)
  KEYS[3]  prioritized (ZSET)
  KEYS[4]  leases      (ZSET)
  KEYS[5]  pc          (STRING) BullMQ's priority counter
  KEYS[6]  want-task   (STRING) set while a consumer waits for tasks
  KEYS[7]  stalled     (LIST)   tasks back from a consumer, waiting for room under maxsize
  KEYS[8]  state       (HASH)   asyncq: "maxsize"
  KEYS[9]  paused      (LIST)
  KEYS[10] delayed     (ZSET)

  ARGV[1]  options (msgpack map):
           prefix        job key prefix
           channel, pub  pub/sub channel, and "PUBLISH" or "SPUBLISH"
           lease         lease id of this handle
           lifo          true for a LIFO queue
           all           true: every task under the lease (then ARGV[2...] is empty)
  ARGV[2...] the job ids to hand back, oldest first

  Returns how many tasks went back.
]]
-- @include queue-lib
local k = { wait = KEYS[1], active = KEYS[2], prioritized = KEYS[3], leases = KEYS[4], pc = KEYS[5],
  wantTask = KEYS[6], stalled = KEYS[7], state = KEYS[8], paused = KEYS[9], delayed = KEYS[10] }
local o = options()
local prefix = o.prefix
local held = heldKey(prefix, o.lease)
local ids
if o.all then
  ids = rcall("SMEMBERS", held)
  rcall("DEL", held)
else
  ids = {}
  for i = 2, #ARGV do
    if rcall("SREM", held, ARGV[i]) == 1 then
      ids[#ids + 1] = ARGV[i]
    end
  end
end
local room = roomUnderMaxsize(k)
local back = 0
-- Given ids come oldest first: pushing them in reverse leaves the oldest at the very front.
for i = #ids, 1, -1 do
  local id = ids[i]
  if rcall("LREM", k.active, -1, id) > 0 and rcall("EXISTS", prefix .. id) == 1 then
    rcall("HDEL", prefix .. id, "pb")
    room = comeBack(prefix, k, id, room, true, o.lifo)
    back = back + 1
  end
end
if o.all then
  rcall("ZREM", k.leases, o.lease)
end
if back > 0 then
  wakeConsumers(k, o)
end
return back
