#!lua flags=allow-oom
--[[
  A consumer handle's one round trip: acknowledges the tasks it finished,
  returns the tasks of crashed consumers (expired leases) to the queue,
  promotes due delayed tasks, and reserves up to `wanted + speculative` ready
  tasks under the handle's lease, in BullMQ's layout (wait -> active, job hash
  fields processedOn, pb, atm, returnvalue, finishedOn; BullMQ's "ats" is not kept).

  A handle holds its tasks under one lease (a ZSET member with an expiry and a
  SET of job ids) instead of a lock key per task: one renewal per handle keeps
  all of them, and a handle that stops renewing loses all of them at once.

  KEYS[1]  wait             (LIST)
  KEYS[2]  active           (LIST)
  KEYS[3]  prioritized      (ZSET)
  KEYS[4]  delayed          (ZSET)
  KEYS[5]  paused           (LIST)
  KEYS[6]  meta             (HASH)  BullMQ: field "paused"
  KEYS[7]  completed        (ZSET)
  KEYS[8]  failed           (ZSET)
  KEYS[9]  state            (HASH)  asyncq: "shutdown", "maxsize"
  KEYS[10] leases           (ZSET)  lease id -> expiry (ms)
  KEYS[11] stats            (HASH)  asyncq totals: "completed", "failed", "reclaimed"
  KEYS[12] pc               (STRING) BullMQ's priority counter
  KEYS[13] want-task        (STRING) set while a consumer waits for tasks
  KEYS[14] want-room        (STRING) set while a producer waits for room
  KEYS[15] want-join        (STRING) set while a handle waits in join
  KEYS[16] want-result      (STRING) set while a handle waits for a result
  KEYS[17] waiting-children (ZSET)
  KEYS[18] stalled          (LIST)  tasks back from a consumer, waiting for room under maxsize
  (and, within the same hash tag: job hashes, "aq:held:<lease>" SETs and "aq:revoked:<lease>" HASHes, and the history rollups "aq:hist:m:<minute>" and "aq:hist:h:<hour>" (HASHes, see finish-lib))

  ARGV[1]  options (msgpack map):
           prefix        job key prefix
           channel, pub  pub/sub channel, and "PUBLISH" or "SPUBLISH"
           lease         lease id of this handle
           leaseMs       lease duration in ms
           holding       true when the handle holds tasks under this lease (a missing lease then means it was lost)
           wanted        tasks wanted by waiting gets
           speculative   tasks to fetch ahead, for gets about to come
           keepCompleted completed tasks to keep (0: delete at once)
           keepFailed    failed tasks to keep
           maxStalls     times a task may lose its consumer before it fails for good
           lifo          true for a LIFO queue
           interestMs    ms a consumer stays announced as waiting for tasks when it got fewer than wanted
           reclaim       return expired leases' tasks to the queue now, and look over a slice of
                         the active list for tasks no live lease holds (stranded)
           promote       make due delayed tasks ready now
           renewLease    push the lease's expiry forward
           keep          (optional) the job ids the handle knows it holds under the lease: any
                         other id under it (reserved by a call whose reply never arrived) goes
                         back to the queue
           handle, rid, forget, deadline, logTtlMs   the request log (see queue-lib)
  ARGV[2...] acknowledgements, 3 per task: job id, result (JSON), attempts made

  Returns { 0 } when the lease was lost (nothing applied), { -1 } for a call the client gave up
  on, else { 1, lost ids, tasks, next delayed due time (ms, 0: none), shutdown mode or "",
    pending (ready + delayed + stalled), paused (0/1), tasks held under the lease, Redis's time (ms),
    added (the partition's total of tasks ever put), lost (every loss recorded: see count-10.lua),
    cancelled (a flat list of id, JSON { reason, by }: acknowledged tasks refused because they were
    cancelled, and tasks cancelled while held under the lease since its last call),
    start by (Redis time, ms; 0: any time): under a rate limit, the tasks were counted in the window
    as starting by then; a handle that gets the reply later hands them back instead (limits-lib) }
  where tasks is a flat list of id, name, data, opts, timestamp, delay, atm (attempts made) per task.

  A completed task that is a flow step starts the flow's next step in the same step (see
  advanceFlow in queue-lib): a chain's next step with its result, a chord's callback once the
  whole group completed. Result waiters hear of completed tasks in one "fin:" message per call.
]]
-- @include queue-lib
-- @include limits-lib
local k = { wait = KEYS[1], active = KEYS[2], prioritized = KEYS[3], delayed = KEYS[4], paused = KEYS[5],
  meta = KEYS[6], completed = KEYS[7], failed = KEYS[8], state = KEYS[9], leases = KEYS[10], stats = KEYS[11],
  pc = KEYS[12], wantTask = KEYS[13], wantRoom = KEYS[14], wantJoin = KEYS[15], wantResult = KEYS[16],
  waitingChildren = KEYS[17], stalled = KEYS[18] }
local o = options()
local prefix, lease = o.prefix, o.lease
local held = heldKey(prefix, lease)
-- The fields of a reserved task the reply carries (the first six), "stc", its returns from dead
-- consumers, and its group and priority (see groups-lib).
local FIELDS = { "name", "data", "opts", "timestamp", "delay", "atm", "stc", "grp", "priority" }

-- The reply: what the call did, and the reserved tasks' fields (id then the first six FIELDS, per task).
local function reply(r, tasks, now)
  local t = ledger(k)
  return { 1, r.lost, tasks, r.nextDue, r.mode, r.pending, r.paused, rcall("SCARD", held), now, t.added, t.lost, r.cancelled or {}, r.startBy or 0 }
end

local now = nowMs()
local prior = recall(prefix, o)
if prior then
  -- The same call again (its reply was lost on the way): the same answer, nothing done twice.
  local tasks = {}
  -- Under a rate limit, tasks whose reply comes too late to start within their window go back.
  local late = #prior.ids > 0 and lateForRate(prefix, k, prior, now)
  local room = late and roomUnderMaxsize(k) or 0
  for _, id in ipairs(prior.ids) do
    if late and rcall("SREM", held, id) == 1 then
      rcall("LREM", k.active, -1, id)
      room = comeBack(prefix, k, id, room, true, o.lifo)
    elseif rcall("SISMEMBER", held, id) == 1 then
      tasks[#tasks + 1] = id
      local f = rcall("HMGET", prefix .. id, unpack(FIELDS))
      for j = 1, 6 do tasks[#tasks + 1] = f[j] end
    end
  end
  if late then wakeConsumers(k, o) end
  return reply(prior, tasks, now)
end
if pastDeadline(o, now) then
  return { -1 }
end
forgetAnswered(prefix, o)
if o.holding and not rcall("ZSCORE", k.leases, lease) then
  return { 0 }
end
-- The pause flag and the limits (see queue-limits.ts), in one read: a queue without limits pays
-- nothing more than the pause check it always made. BullMQ's own fields where it has them
-- ("concurrency" of setGlobalConcurrency; "max" and "duration" of its global rate limit).
local meta = rcall("HMGET", k.meta, "paused", "concurrency", "max", "duration", "aq:rateUntil", "aq:grouped", "aq:groupConcurrency")
local paused = meta[1] ~= false
-- A per-group concurrency limit (groups-lib): nil when none, or when no grouped task was ever put.
local groupCap = meta[6] and tonumber(meta[7]) or nil -- (HMGET gives false, not nil, for a missing field)
local limited = meta[2] ~= false or meta[3] ~= false or groupCap ~= nil

-- Acknowledgements. A task is this handle's if its lease's held set has it, or (should that set
-- have been lost) if its hash names this lease as its holder and it has not finished. One that was
-- cancelled meanwhile is refused as such: its result is discarded, and the handle is told why.
local lost, cancelled = {}, {}
local acked, started, fed = 0, 0, 0
local room
for i = 2, #ARGV, 3 do
  local id = ARGV[i]
  local jobKey = prefix .. id
  local ours = rcall("SREM", held, id) == 1
  if not ours then
    ours = rcall("HGET", jobKey, "pb") == lease and rcall("HEXISTS", jobKey, "finishedOn") == 0
  end
  if ours then
    rcall("LREM", k.active, -1, id)
  end
  -- name and timestamp: is the hash there; nx, cb, gi: the flow it is a step of (see queue-lib).
  local f = ours and rcall("HMGET", jobKey, "name", "timestamp", "nx", "cb", "gi", "processedOn", "grp")
  if ours and not f[1] and not f[2] and rcall("EXISTS", jobKey) == 0 then
    -- Held, but its hash is gone (deleted, or lost by Redis): nothing to finish.
    rcall("HINCRBY", k.stats, "vanished", 1)
    ours = false
  end
  if ours then
    if o.keepCompleted > 0 then
      rcall("HSET", jobKey, "returnvalue", ARGV[i + 1], "finishedOn", now, "atm", ARGV[i + 2])
      rcall("ZADD", k.completed, now, id)
    else
      removeJobKeys(prefix, id)
    end
    acked = acked + 1
    if groupCap and f[7] then
      -- A slot of its group came free: the group's next task may go in.
      leaveGroupSlot(prefix, f[7], id)
      fed = fed + feedGroup(prefix, k, f[7], groupCap, o.lifo, now)
    end
    noteFinished(id, ARGV[i + 1])
    noteRunTime(now - (tonumber(f[6]) or now))
    if f[3] or f[4] then
      room = room or roomUnderMaxsize(k)
      local began
      room, began = advanceFlow(prefix, k, f[3], f[4], f[5], ARGV[i + 1], room, now, o.lifo)
      if began then started = started + 1 end
    end
  else
    local why = rcall("HMGET", jobKey, "cancelledOn", "cancelReason", "cancelBy")
    if why[1] then
      cancelled[#cancelled + 1] = id
      cancelled[#cancelled + 1] = cjson.encode({ reason = why[2] or "", by = why[3] or "" })
    else
      lost[#lost + 1] = id
    end
  end
end
if acked > 0 and meta[2] then
  -- Slots freed under a concurrency limit: consumers waiting for one try again.
  slotsFreed(k, o)
end
if acked > 0 then
  if o.keepCompleted > 0 then
    trimFinished(k.completed, prefix, o.keepCompleted)
  end
  rcall("HINCRBY", k.stats, "completed", acked)
end
-- Tasks cancelled while this handle held them, that it may not know of yet.
if o.holding then
  for _, v in ipairs(takeRevoked(prefix, lease)) do cancelled[#cancelled + 1] = v end
end

-- Tasks reserved under this lease by a call whose reply never reached the handle: back to the queue.
local back = 0
if o.keep then
  local known = {}
  for _, id in ipairs(o.keep) do known[id] = true end
  local room = roomUnderMaxsize(k)
  for _, id in ipairs(rcall("SMEMBERS", held)) do
    if not known[id] then
      rcall("SREM", held, id)
      rcall("LREM", k.active, -1, id)
      if rcall("EXISTS", prefix .. id) == 1 then
        room = comeBack(prefix, k, id, room, true, o.lifo)
        back = back + 1
      end
    end
  end
end

-- Crashed consumers: their leases expired, so their tasks go back to the front. This handle's own
-- lease too when it holds nothing it knows of: what is under it was never handed to it.
local freed = 0
if o.reclaim then
  for _, other in ipairs(rcall("ZRANGEBYSCORE", k.leases, "-inf", now, "LIMIT", 0, 10)) do
    if other ~= lease or not o.holding then
      freed = freed + reclaimLease(prefix, k, other, o.maxStalls, o.keepFailed, o.lifo, now)
    end
  end
  freed = freed + returnStranded(prefix, k, o.maxStalls, o.keepFailed, o.lifo, now)
end

-- Due delayed tasks become ready (BullMQ's promotion: to the back, delay reset). Delayed retries
-- may have put the queue past maxsize: those over it wait in the stalled list instead.
local due = {}
if o.promote then
  due = rcall("ZRANGEBYSCORE", k.delayed, 0, (now + 1) * 0x1000 - 1, "LIMIT", 0, 1000)
end
if #due > 0 then
  rcall("ZREM", k.delayed, unpack(due))
  local room = roomUnderMaxsize(k)
  for _, id in ipairs(due) do
    rcall("HSET", prefix .. id, "delay", 0)
    room = comeBack(prefix, k, id, room, false, false)
  end
end

-- Tasks back from consumers that waited for room go first, as far as maxsize allows.
local released = releaseStalled(prefix, k, o.lifo)

-- Groups whose per-group concurrency held their next task back, looked at again (the oldest looked
-- at first): a slot freed where no acknowledgement saw it (a failure, a hand-back, a reclaim, an
-- operator's removal, a limit raised) lets their next task in.
local parkedIdle = false
if meta[6] and not paused then
  if groupCap then
    for _, g in ipairs(rcall("ZRANGE", prefix .. "aq:gblocked", 0, 4)) do
      fed = fed + feedGroup(prefix, k, g, groupCap, o.lifo, now)
    end
  elseif rcall("EXISTS", prefix .. "aq:gblocked") == 1 then
    -- The per-group limit was lifted: every group it held back goes on.
    for _, g in ipairs(rcall("ZRANGE", prefix .. "aq:gblocked", 0, 99)) do
      fed = fed + feedGroup(prefix, k, g, nil, o.lifo, now)
    end
  end
  if o.wanted > 0 and rcall("LLEN", k.wait) + rcall("ZCARD", k.prioritized) == 0 and parkedCount() > 0 then
    -- Nothing ready, yet tasks are parked: their groups are held back by their limit, or lost their
    -- head to a way that does not tell its group (BullMQ's own remove or clean): some go on now.
    for _, g in ipairs(rcall("ZRANDMEMBER", prefix .. "aq:groups", 10)) do
      fed = fed + feedGroup(prefix, k, g, groupCap, o.lifo, now)
    end
    parkedIdle = rcall("LLEN", k.wait) + rcall("ZCARD", k.prioritized) == 0
  end
end

-- Reservations, as many as the limits allow when the queue has some.
local ids, tasks = {}, {}
local cap, reopenAt = o.wanted + o.speculative, 0
if limited and not paused then
  cap, reopenAt = limitsAllow(prefix, k, meta, o.wanted + o.speculative, now)
end
if not paused then
  local skipped = 0
  while #ids < cap and skipped < 100 do
    local id = rcall("RPOPLPUSH", k.wait, k.active)
    local fromWait = id ~= false
    if not id then
      local top = rcall("ZPOPMIN", k.prioritized)
      if #top == 0 then break end
      id = top[1]
      rcall("LPUSH", k.active, id)
    end
    local f = rcall("HMGET", prefix .. id, unpack(FIELDS))
    if #ids >= o.wanted and fromWait and tonumber(f[7] or 0) > 0 then
      -- Back from a consumer that died (its "stc" counts such returns): only a get that runs it at
      -- once takes it, never a fetch ahead, or a second kill before it started would delay it by a
      -- second lease. It stays at the front, and fetching ahead stops for this call.
      rcall("LREM", k.active, -1, id)
      rcall("RPUSH", k.wait, id)
      break
    elseif not f[1] and not f[2] then
      -- Listed but its hash is gone (deleted meanwhile, or lost by Redis): nothing to run.
      rcall("LREM", k.active, -1, id)
      rcall("HINCRBY", k.stats, "vanished", 1)
    elseif groupCap and f[8] and groupFull(prefix, f[8], groupCap) then
      -- Its group holds all the tasks its limit allows (it came in by a way that does not ask its
      -- group, such as an operator's retry): parked first in its group until a slot frees.
      rcall("LREM", k.active, -1, id)
      if rcall("HGET", prefix .. "aq:ghead", f[8]) == id then rcall("HDEL", prefix .. "aq:ghead", f[8]) end
      parkInGroup(prefix, f[8], id, tonumber(f[9]) or 0, true, o.lifo)
      rcall("ZADD", prefix .. "aq:gblocked", now, f[8])
      skipped = skipped + 1
    else
      rcall("SADD", held, id)
      rcall("HSET", prefix .. id, "processedOn", now, "pb", lease)
      ids[#ids + 1] = id
      tasks[#tasks + 1] = id
      for j = 1, 6 do tasks[#tasks + 1] = f[j] end
      if f[8] then
        -- A group's task taken: under a per-group limit it holds one of the group's slots, and the
        -- group's next task goes to the back of the queue (round-robin across groups).
        if groupCap then rcall("SADD", prefix .. "aq:gact:" .. f[8], id) end
        feedGroup(prefix, k, f[8], groupCap, o.lifo, now)
      end
    end
  end
end

local startBy = 0
if limited and meta[3] and #ids > 0 then
  reopenAt = countReserved(prefix, meta, ids, o.wanted, now)
  startBy = now + marginOf(tonumber(meta[4]))
end

-- The lease lives while it holds tasks; an empty one is left to expire (removing it here could race
-- another call of the same handle that still counts on it).
-- A lease is created with its first tasks, then pushed forward only when the client says it is
-- due (renewLease), not on every call.
if ((#ids > 0 and not o.holding) or o.renewLease) and rcall("SCARD", held) > 0 then
  rcall("ZADD", k.leases, now + o.leaseMs, lease)
end

if #ids > 0 and rcall("EXISTS", k.wantRoom) == 1 then
  rcall(o.pub, o.channel, "room")
end
if freed + back + #due + released + started + fed > 0 and rcall("LLEN", k.wait) + rcall("ZCARD", k.prioritized) > 0 then
  wakeConsumers(k, o)
end
tellFinished(k, o, now)
if acked > 0 then
  signalDrained(k, o)
end

local r = { ids = ids, lost = lost, cancelled = cancelled, nextDue = 0, mode = "", pending = 0, paused = paused and 1 or 0, at = now, startBy = startBy }
if #ids < o.wanted then
  rcall("SET", k.wantTask, "1", "PX", o.interestMs)
  local first = rcall("ZRANGE", k.delayed, 0, 0, "WITHSCORES")
  if first[2] then
    r.nextDue = math.floor(tonumber(first[2]) / 0x1000)
  end
  -- A rate limit holds the rest back: the consumer sleeps until its window reopens.
  if reopenAt > 0 and (r.nextDue == 0 or reopenAt < r.nextDue) then
    r.nextDue = reopenAt
  end
  -- Tasks parked while nothing is ready (groups held back by their limit): a slot freed by an
  -- acknowledgement feeds its group at once; this second-by-second look is for any other way.
  if parkedIdle and (r.nextDue == 0 or r.nextDue > now + 1000) then
    r.nextDue = now + 1000
  end
  r.mode = rcall("HGET", k.state, "shutdown") or ""
  r.pending = boundedCount(k)
end
if #ARGV > 1 or #ids > 0 or #cancelled > 0 then
  remember(prefix, o, r)
end
return reply(r, tasks, now)
