--[[
  Groups (put(item, { group })), inserted into queue-lib where it says "-- @include groups-lib".
  Ready tasks of a group are served round-robin with every other group's, and under a per-group
  concurrency limit, without changing how a consumer takes tasks: each group lets one task at a
  time into the wait list, its "head", and keeps the rest "parked" in its own ZSET. When the head
  is reserved, the group's next task becomes its head, at the back of the wait list: so the wait
  list holds one task per group in turn, and a group with 100,000 parked tasks is served as often
  as one with 1. Ungrouped tasks go to the wait list as before, in their place among the heads.

  Keys, in the queue's hash tag (the prefix):
    aq:g:<group>     ZSET  the group's parked tasks: score priority * 2^32 + order, so priorities
                           still order a group's tasks (none first), then put order
    aq:groups        ZSET  group -> how many tasks it has parked (the dashboard's largest groups)
    aq:gparked       STRING  parked tasks in all groups: waiting tasks that maxsize, join and the
                           counts see as waiting
    aq:ghead         HASH  group -> its head's id while the head waits to be reserved
    aq:gblocked      ZSET  group -> when (ms) it was last found with its per-group concurrency taken
                           and tasks parked
    aq:gact:<group>  SET   tasks of the group reserved under a per-group concurrency limit
  A task's hash names its group in "grp". The meta HASH has "aq:grouped" once a grouped task was
  put (consume-18 looks at groups only then) and "aq:groupConcurrency" under a perGroup limit.

  A head, and the members of aq:gact, are checked when read, not trusted: an operator's removal,
  a cancel or a purge can take a task away without telling its group, and the next check sees it.
]]

local function groupKey(prefix, g)
  return prefix .. "aq:g:" .. g
end

-- A group's parked-task bookkeeping after `delta` tasks were parked (+) or unparked (-).
local function countParked(prefix, g, delta)
  rcall("INCRBY", prefix .. "aq:gparked", delta)
  if tonumber(rcall("ZINCRBY", prefix .. "aq:groups", delta, g)) <= 0 then
    rcall("ZREM", prefix .. "aq:groups", g)
  end
end

-- Parks task `id` in group `g`: after the group's other tasks of its priority, or first of them
-- (`front`: a task coming back from a consumer). LIFO queues serve a group's newest first.
local function parkInGroup(prefix, g, id, priority, front, lifo)
  local seq = 0
  if not front then
    seq = rcall("INCR", prefix .. "pc") % 0x100000000
    if lifo then seq = 0x100000000 - seq end
  end
  if rcall("ZADD", groupKey(prefix, g), priority * 0x100000000 + seq, id) == 1 then
    countParked(prefix, g, 1)
  end
end

-- True while task `id` waits to be reserved: it exists, and is neither held, finished nor cancelled.
local function stillWaiting(prefix, id)
  local f = rcall("HMGET", prefix .. id, "name", "timestamp", "pb", "finishedOn", "cancelledOn")
  return (f[1] or f[2]) and not f[3] and not f[4] and not f[5]
end

-- True when group `g` holds `cap` tasks or more: members of its aq:gact set still held and not
-- finished (the others are dropped as they are found).
local function groupFull(prefix, g, cap)
  local key = prefix .. "aq:gact:" .. g
  local ids = rcall("SMEMBERS", key)
  if #ids < cap then return false end
  local held = 0
  for _, id in ipairs(ids) do
    local f = rcall("HMGET", prefix .. id, "pb", "finishedOn", "cancelledOn")
    if f[1] and not f[2] and not f[3] then
      held = held + 1
    else
      rcall("SREM", key, id)
    end
  end
  return held >= cap
end

-- Task `id` of group `g` finished or gave its slot up: it leaves the group's held set at once (the
-- set is also checked when full, for the ways out that do not come here).
local function leaveGroupSlot(prefix, g, id)
  rcall("SREM", prefix .. "aq:gact:" .. g, id)
end

-- The per-group concurrency limit in force, or nil.
local function groupCap(prefix)
  return tonumber(rcall("HGET", prefix .. "meta", "aq:groupConcurrency"))
end

-- Lets group `g`'s next parked task into the queue as its head (to the back of the wait list, or
-- the front for a task back from a consumer; or the prioritized set), unless its head still waits there or its per-group concurrency (`cap`,
-- nil: none) is taken, in which case the group is noted as blocked. Returns 1 when a task became
-- ready, else 0.
local function feedGroup(prefix, k, g, cap, lifo, now, front)
  local heads = prefix .. "aq:ghead"
  local head = rcall("HGET", heads, g)
  if head and stillWaiting(prefix, head) then return 0 end
  if cap and groupFull(prefix, g, cap) then
    if head then rcall("HDEL", heads, g) end
    if rcall("EXISTS", groupKey(prefix, g)) == 1 then
      rcall("ZADD", prefix .. "aq:gblocked", now or 0, g)
    else
      rcall("ZREM", prefix .. "aq:gblocked", g) -- nothing parked any more (purged, cancelled)
    end
    return 0
  end
  rcall("ZREM", prefix .. "aq:gblocked", g)
  local top = rcall("ZPOPMIN", groupKey(prefix, g))
  if #top == 0 then
    if head then rcall("HDEL", heads, g) end
    return 0
  end
  local id = top[1]
  countParked(prefix, g, -1)
  rcall("HSET", heads, g, id)
  pushReady(k, id, math.floor(tonumber(top[2]) / 0x100000000), front == true, lifo)
  return 1
end

-- A task of group `g` became ready (put, retried, promoted, back from a consumer): parked in its
-- group, which then lets its next task in if it may.
local function readyInGroup(prefix, k, g, id, priority, front, lifo)
  parkInGroup(prefix, g, id, priority, front, lifo)
  return feedGroup(prefix, k, g, groupCap(prefix), lifo, 0, front)
end

-- Takes task `id` out of group `g`'s parked tasks (a cancel or a removal). True if it was parked.
local function unparkTask(prefix, g, id)
  if rcall("ZREM", groupKey(prefix, g), id) == 1 then
    countParked(prefix, g, -1)
    return true
  end
  return false
end

-- Up to `n` parked tasks of any groups, taken out of them (a purge, an immediate shutdown).
local function takeParked(prefix, n)
  local out = {}
  if n <= 0 or parkedCount() == 0 then return out end
  for _, g in ipairs(rcall("ZRANGE", prefix .. "aq:groups", 0, -1)) do
    local left = n - #out
    if left <= 0 then break end
    local popped = rcall("ZPOPMIN", groupKey(prefix, g), left)
    for i = 1, #popped, 2 do out[#out + 1] = popped[i] end
    if #popped > 0 then countParked(prefix, g, -(#popped / 2)) end
  end
  return out
end
