#!lua flags=allow-oom
--[[
  Removes a waiting task of a group (QueueAdmin.remove): parked in its group, or its group's head
  in the queue. BullMQ's own remove knows neither: it would not find a parked task, and a head it
  removed would leave its group without one until the next look (see groups-lib). Counted as
  removed in the totals, as the other removals are; the group's next task goes in.

  KEYS[1]  wait             (LIST)
  KEYS[2]  prioritized      (ZSET)
  KEYS[3]  stats            (HASH)  asyncq totals: "removed"
  KEYS[4]  pc               (STRING) BullMQ's priority counter
  (and, within the same hash tag: the job hash and its logs, and the group keys of groups-lib)

  ARGV[1]  options (msgpack map):
           prefix        job key prefix
           id            the job id

  Returns 1 when the task was removed, 0 when it is not a waiting task of a group (BullMQ's remove
  then handles it).
]]
-- @include queue-lib
local k = { wait = KEYS[1], prioritized = KEYS[2], stats = KEYS[3], pc = KEYS[4] }
local o = options()
local prefix, id = o.prefix, o.id
local f = rcall("HMGET", prefix .. id, "grp", "pb", "finishedOn")
local g = f[1]
if not g or f[2] or f[3] then return 0 end
local gone = unparkTask(prefix, g, id) or rcall("LREM", k.wait, -1, id) > 0 or rcall("ZREM", k.prioritized, id) == 1
if not gone then return 0 end
removeJobKeys(prefix, id)
rcall("HINCRBY", k.stats, "removed", 1)
feedGroup(prefix, k, g, groupCap(prefix), false, 0)
return 1
