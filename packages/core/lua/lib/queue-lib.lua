--[[
  Helpers shared by asyncq's scripts, inserted where a script says
  "-- @include queue-lib". Every key they touch shares the queue's hash tag
  with the script's declared keys, so they stay within one cluster slot.

  Scripts name their keys once, in a table `k` built from KEYS at the top
  (k.wait, k.active, ...), and read their scalar options from one msgpack
  argument (ARGV[1]) into a table `o` (o.prefix, o.channel, o.pub, ...); the
  helpers below take those two tables rather than positions.

  Every script but add opens with `#!lua flags=allow-oom`: at maxmemory under
  noeviction Redis refuses a script's writes, and a consume, acknowledgement,
  hand-back or lease renewal refused would keep a full queue from ever
  draining. Only a put is refused then (as RedisOutOfMemory): add opens with a
  plain `#!lua`, so Redis refuses it whole before it runs (a script without a
  shebang is checked only at its first write, which for add is the request
  log's HDEL, one Redis never refuses, and then nothing later is checked).
]]
local rcall = redis.call

-- The prefix of the script's queue, noted by options(): the counts of waiting tasks need it for
-- the tasks parked in groups (see groups-lib).
local libPrefix

-- The script's scalar options: ARGV[1] is a msgpack map built by scripts.ts from a typed object.
local function options()
  local o = cmsgpack.unpack(ARGV[1])
  libPrefix = o.prefix
  return o
end

-- Tasks parked in groups (groups-lib): waiting, though in no list of BullMQ's.
local function parkedCount()
  if not libPrefix then return 0 end
  return tonumber(rcall("GET", libPrefix .. "aq:gparked")) or 0
end

-- Redis's clock, in ms: one clock for every process, whatever their skew.
local function nowMs()
  local t = rcall("TIME")
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- The SET of job ids a consumer handle holds under lease `lease`.
local function heldKey(prefix, lease)
  return prefix .. "aq:held:" .. lease
end

-- The HASH of tasks cancelled while held under lease `lease`: job id -> JSON { reason, by }. The
-- holder reads it at its next call (consume or renewal), so a cancel reaches it even when the
-- pub/sub message did not.
local function revokedKey(prefix, lease)
  return prefix .. "aq:revoked:" .. lease
end

-- The cancels recorded for `lease` since its holder last looked, as a flat list of id, info JSON.
local function takeRevoked(prefix, lease)
  local key = revokedKey(prefix, lease)
  local flat = rcall("HGETALL", key)
  if #flat > 0 then rcall("DEL", key) end
  return flat
end

--[[
  The request log of a handle (a HASH per handle and partition: request id -> what the request did,
  msgpack). ioredis sends a command again when the connection drops before its reply arrived, so a
  script may run twice for one call; each script that changes something records what it did under
  the call's request id (o.rid), and a second run answers from the record instead of doing it
  again. The client lists the requests whose replies it has (o.forget), which are then dropped, and
  gives each call a deadline (o.deadline, Redis's clock): a copy arriving after the client gave up
  on the call does nothing, so nothing happens that the caller was told did not.
]]
local function requestLog(prefix, o)
  return prefix .. "aq:req:" .. o.handle
end

-- What an earlier run of this request did, or nil.
local function recall(prefix, o)
  local rec = rcall("HGET", requestLog(prefix, o), o.rid)
  if rec then return cmsgpack.unpack(rec) end
  return nil
end

-- Drops the records of the requests the client has answers for (every call, recorded or not).
local function forgetAnswered(prefix, o)
  if o.forget and #o.forget > 0 then
    rcall("HDEL", requestLog(prefix, o), unpack(o.forget))
  end
end

-- Records what this request did. Calls that changed nothing need no record: a second run of them
-- changes nothing either.
local function remember(prefix, o, what)
  local log = requestLog(prefix, o)
  rcall("HSET", log, o.rid, cmsgpack.pack(what))
  rcall("PEXPIRE", log, o.logTtlMs)
end

-- True when the client gave up on this call before Redis ran it.
local function pastDeadline(o, now)
  return now > o.deadline
end

-- What join waits for: no ready, delayed, held, stalled (waiting for room) or (BullMQ)
-- waiting-children task. Checked after every acknowledgement batch while a joiner waits, so it
-- stops at the first non-empty key: while tasks wait, that costs one LLEN.
local function nothingUnfinished(k)
  return rcall("LLEN", k.wait) == 0 and rcall("LLEN", k.active) == 0 and rcall("LLEN", k.stalled) == 0
    and rcall("LLEN", k.paused) == 0 and rcall("ZCARD", k.prioritized) == 0
    and rcall("ZCARD", k.delayed) == 0 and rcall("ZCARD", k.waitingChildren) == 0 and parkedCount() == 0
end

-- The queue's ledger, from its totals: `added` (tasks ever put, chain and chord steps included),
-- `expected` (how many should be unfinished: put, plus revived by a retry, less completed, failed
-- for good, cancelled, discarded by an immediate shutdown, removed by an operator, vanished and
-- written off) and `lost` (every loss
-- recorded). Each script moves tasks and its totals in one atomic step, so in any state Redis
-- can be in the lists hold `expected` tasks, unless Redis lost some of them.
local LEDGER = { "added", "revived", "completed", "failed", "discarded", "removed", "vanished", "lostMissing", "lostRollback", "cancelled" }
local function ledger(k)
  local v = rcall("HMGET", k.stats, unpack(LEDGER))
  local n = {}
  for i = 1, #LEDGER do n[LEDGER[i]] = tonumber(v[i] or "0") or 0 end
  return {
    added = n.added,
    expected = n.added + n.revived - n.completed - n.failed - n.discarded - n.removed - n.vanished - n.lostMissing - n.cancelled,
    lost = n.lostMissing + n.lostRollback + n.vanished,
  }
end

-- Ready and delayed tasks.
local function pendingCount(k)
  return rcall("LLEN", k.wait) + rcall("LLEN", k.paused) + rcall("ZCARD", k.prioritized) + rcall("ZCARD", k.delayed) + parkedCount()
end

-- What maxsize bounds: ready and delayed tasks, and those back from a consumer waiting for room.
local function boundedCount(k)
  return pendingCount(k) + rcall("LLEN", k.stalled)
end

-- Wakes consumers idling on the queue (they announced it with the want-task flag): one PUBLISH,
-- and the flag goes until one of them announces again, so a busy queue publishes nothing.
local function wakeConsumers(k, o)
  if rcall("EXISTS", k.wantTask) == 1 then
    rcall("DEL", k.wantTask)
    rcall(o.pub, o.channel, "task")
  end
end

-- Tells joiners (announced with the want-join flag) that nothing is unfinished any more.
local function signalDrained(k, o)
  if rcall("EXISTS", k.wantJoin) == 1 and nothingUnfinished(k) then
    rcall(o.pub, o.channel, "drained")
  end
end

local function removeJobKeys(prefix, id)
  rcall("DEL", prefix .. id, prefix .. id .. ":logs")
end

-- Keeps the newest `keep` ids of a finished set (score = finish time) and deletes the rest, in
-- chunks: it lets the set grow a little past `keep` (a tenth, at most 64) and then trims it back
-- with one ZPOPMIN and one DEL, instead of a trim per finished task.
local function trimFinished(setKey, prefix, keep)
  local slack = math.min(64, math.floor(keep / 10))
  local excess = rcall("ZCARD", setKey) - keep
  if excess > slack then
    local old = rcall("ZPOPMIN", setKey, excess)
    local doomed = {}
    for i = 1, #old, 2 do
      doomed[#doomed + 1] = prefix .. old[i]
      doomed[#doomed + 1] = prefix .. old[i] .. ":logs"
    end
    rcall("DEL", unpack(doomed))
  end
end

-- Puts job `id` among the ready tasks, in BullMQ's layout: a priority goes to
-- the prioritized ZSET (score priority * 2^32 + counter, or counter 0 to be next
-- of its class), else the wait list (LPUSH is the back, RPUSH the front).
local function pushReady(k, id, priority, front, lifo)
  if priority > 0 then
    local seq = 0
    if not front then
      seq = rcall("INCR", k.pc) % 0x100000000
    end
    rcall("ZADD", k.prioritized, priority * 0x100000000 + seq, id)
  elseif front or lifo then
    rcall("RPUSH", k.wait, id)
  else
    rcall("LPUSH", k.wait, id)
  end
end

-- @include groups-lib

-- The same for a job already stored: its priority (and group) is read from its hash.
local function makeReady(prefix, k, id, front, lifo)
  local f = rcall("HMGET", prefix .. id, "priority", "grp")
  if f[2] then
    readyInGroup(prefix, k, f[2], id, tonumber(f[1]) or 0, front, lifo)
  else
    pushReady(k, id, tonumber(f[1]) or 0, front, lifo)
  end
end

-- BullMQ's delayed score: the due time in ms times 0x1000 plus an order within that ms.
local function delayedScore(delayed, dueAt)
  local low = dueAt * 0x1000
  local high = low + 0xfff
  local last = rcall("ZREVRANGEBYSCORE", delayed, high, low, "WITHSCORES", "LIMIT", 0, 1)
  if last[2] then
    return math.min(tonumber(last[2]) + 1, high)
  end
  return low
end

-- @include finish-lib

-- Stalled tasks become ready (at the front, oldest first) as far as maxsize allows.
-- Returns how many became ready.
local function releaseStalled(prefix, k, lifo)
  local n = rcall("LLEN", k.stalled)
  if n == 0 then return 0 end
  local room = math.min(n, roomUnderMaxsize(k) + n)
  if room <= 0 then return 0 end
  -- The oldest are at the tail; pushing them newest first leaves the oldest at the very front.
  local ids = rcall("LRANGE", k.stalled, -room, -1)
  rcall("LTRIM", k.stalled, 0, -room - 1)
  for i = 1, #ids do
    makeReady(prefix, k, ids[i], true, lifo)
  end
  return #ids
end

-- A task that lost its consumer goes back to the queue (to the front, as BullMQ's stalled
-- checker does, or to the stalled list when the queue is at maxsize), counting a stall; past
-- maxStalls it fails for good. Returns the room left and whether it became ready.
local function stalled(prefix, k, id, room, maxStalls, keepFailed, lifo, now)
  local stalls = rcall("HINCRBY", prefix .. id, "stc", 1)
  recordAttempt(prefix, id, (tonumber(rcall("HGET", prefix .. id, "atm")) or 0) + 1, "its worker stopped renewing its lease (crashed, killed or cut off)", "", now, nil)
  if stalls > maxStalls then
    failForGood(prefix, k, id, "the task lost its consumer " .. stalls .. " times (maxStalls " .. maxStalls .. ")", now, keepFailed)
    return room, false
  end
  return comeBack(prefix, k, id, room, true, lifo), true
end

-- Returns the tasks of an expired lease to the queue. The held set is what the lease holds: a
-- task in it comes back even if something removed it from the active list. Returns how many
-- became ready.
local function reclaimLease(prefix, k, leaseId, maxStalls, keepFailed, lifo, now)
  local held = heldKey(prefix, leaseId)
  local ids = rcall("SMEMBERS", held)
  local ready = 0
  local room = roomUnderMaxsize(k)
  for _, id in ipairs(ids) do
    rcall("LREM", k.active, -1, id)
    if rcall("EXISTS", prefix .. id) == 1 and rcall("HEXISTS", prefix .. id, "finishedOn") == 0 then
      local back
      room, back = stalled(prefix, k, id, room, maxStalls, keepFailed, lifo, now)
      if back then ready = ready + 1 end
    end
  end
  rcall("DEL", held)
  rcall("ZREM", k.leases, leaseId)
  rcall("HINCRBY", k.stats, "reclaimed", #ids)
  return ready
end

-- How many entries of the active list one call looks over for stranded tasks.
local STRANDED_SLICE = 20

-- Looks over the next slice of the active list (a cursor in the state hash goes round it) for
-- tasks no live lease holds: their lease was deleted or lost while they ran, so no reclaim would
-- ever find them. They come back as a crashed consumer's do; a listed task whose hash is gone is
-- dropped and counted as vanished. Returns how many became ready.
local function returnStranded(prefix, k, maxStalls, keepFailed, lifo, now)
  local len = rcall("LLEN", k.active)
  if len == 0 then return 0 end
  local from = tonumber(rcall("HGET", k.state, "strandedCursor") or "0") or 0
  if from >= len then from = 0 end
  local ids = rcall("LRANGE", k.active, -(from + STRANDED_SLICE), -(from + 1))
  rcall("HSET", k.state, "strandedCursor", from + STRANDED_SLICE)
  local ready = 0
  local room = roomUnderMaxsize(k)
  for _, id in ipairs(ids) do
    local pb = rcall("HGET", prefix .. id, "pb")
    if not pb then
      if rcall("EXISTS", prefix .. id) == 0 then
        rcall("LREM", k.active, -1, id)
        rcall("HINCRBY", k.stats, "vanished", 1)
      end
    elseif not rcall("ZSCORE", k.leases, pb) then
      rcall("LREM", k.active, -1, id)
      rcall("SREM", heldKey(prefix, pb), id)
      local back
      room, back = stalled(prefix, k, id, room, maxStalls, keepFailed, lifo, now)
      if back then ready = ready + 1 end
    end
  end
  return ready
end
