#!lua flags=allow-oom
--[[
  Cancels tasks: a terminal state, recorded in the job hash (cancelledOn,
  cancelReason, cancelBy; finishedOn too, so nothing finishes it again) and in
  the cancelled set. A waiting, delayed or blocked task leaves its list and
  never runs. A running one leaves its holder's lease at once: the holder is
  told by a "cancel:" message on the channel and, should it miss that, by the
  revoked hash of its lease, which its next call reads; whatever it sends for
  the task afterwards is refused. Counted in the totals ("cancelled"), so the
  ledger stays whole and joiners see the task finished.

  The parts of a flow that can no longer run are cancelled with it: the later
  steps of a chain, a chord's callback. Cancelling a flow's own task (a chain's
  last step, a chord's callback: what its ref names) cancels every unfinished
  part of it, running ones included.

  KEYS[1]  wait             (LIST)
  KEYS[2]  active           (LIST)
  KEYS[3]  prioritized      (ZSET)
  KEYS[4]  delayed          (ZSET)
  KEYS[5]  paused           (LIST)
  KEYS[6]  stalled          (LIST)  tasks back from a consumer, waiting for room under maxsize
  KEYS[7]  waiting-children (ZSET)  flow steps blocked until earlier ones finish
  KEYS[8]  cancelled        (ZSET)  job id -> cancel time (ms)
  KEYS[9]  stats            (HASH)  asyncq totals: "cancelled"
  KEYS[10] leases           (ZSET)  lease id -> expiry (ms)
  KEYS[11] want-join        (STRING) set while a handle waits in join
  KEYS[12] want-result      (STRING) set while a handle waits for a result
  (and, within the same hash tag: job hashes and logs, "aq:held:<lease>" SETs,
  "aq:revoked:<lease>" HASHes, and the history rollups "aq:hist:m:<minute>" and
  "aq:hist:h:<hour>" (HASHes, see finish-lib))

  ARGV[1]  options (msgpack map):
           prefix        job key prefix
           channel, pub  pub/sub channel, and "PUBLISH" or "SPUBLISH"
           reason        why (may be "")
           by            who cancelled (host, pid, what)
           keep          cancelled tasks to keep
           handle, rid, forget, deadline, logTtlMs   the request log (see queue-lib)
  ARGV[2...] the job ids to cancel

  Returns { statuses, parts } where statuses has one entry per id given:
  "cancelled:waiting", "cancelled:delayed", "cancelled:blocked", "cancelled:running",
  "finished:completed", "finished:failed", "finished:cancelled" or "missing"; and parts
  is how many other tasks (parts of flows) were cancelled with them. { -1 } for a call
  the client gave up on.
]]
-- @include queue-lib
local k = { wait = KEYS[1], active = KEYS[2], prioritized = KEYS[3], delayed = KEYS[4], paused = KEYS[5],
  stalled = KEYS[6], waitingChildren = KEYS[7], cancelled = KEYS[8], stats = KEYS[9], leases = KEYS[10],
  wantJoin = KEYS[11], wantResult = KEYS[12] }
local o = options()
local prefix = o.prefix
-- BullMQ's priority counter, not among KEYS (same hash tag): a group's next task may become ready here.
k.pc = prefix .. "pc"
local now = nowMs()
local prior = recall(prefix, o)
if prior then
  return { prior.s, prior.p }
end
if pastDeadline(o, now) then
  return { -1 }
end
forgetAnswered(prefix, o)
local reason, by = o.reason or "", o.by or ""
local info = cjson.encode({ reason = reason, by = by })

-- Takes an unfinished task out of wherever it is, and says where that was. A held one leaves its
-- holder's lease, and the holder is told (now by a message, later by its lease's revoked hash).
local function takeOut(id, holder, group)
  if holder then
    rcall("LREM", k.active, -1, id)
    rcall("SREM", heldKey(prefix, holder), id)
    local revoked = revokedKey(prefix, holder)
    rcall("HSET", revoked, id, info)
    -- Kept past the lease's expiry: a live holder reads it within a third of a lease.
    local expiry = tonumber(rcall("ZSCORE", k.leases, holder)) or now
    rcall("PEXPIREAT", revoked, math.max(expiry, now) + 60000)
    rcall(o.pub, o.channel, "cancel:" .. cjson.encode({ id, reason, by }))
    return "running"
  end
  if rcall("ZREM", k.delayed, id) == 1 then return "delayed" end
  if group and unparkTask(prefix, group, id) then return "waiting" end
  if rcall("ZREM", k.waitingChildren, id) == 1 then return "blocked" end
  if rcall("ZREM", k.prioritized, id) == 1 then return "waiting" end
  for _, list in ipairs({ k.wait, k.paused, k.stalled, k.active }) do
    -- (in active with no holder: stranded, about to come back)
    if rcall("LREM", list, -1, id) > 0 then return "waiting" end
  end
  return "waiting"
end

local statuses, parts = {}, 0
local todo = {}
for i = 2, #ARGV do todo[#todo + 1] = { ARGV[i], i - 1 } end
local n = 0
while n < #todo do
  n = n + 1
  local id, slot = todo[n][1], todo[n][2]
  local jobKey = prefix .. id
  local f = rcall("HMGET", jobKey, "name", "timestamp", "finishedOn", "cancelledOn", "returnvalue", "pb", "nx", "cb", "steps", "group", "grp")
  local status
  if not f[1] and not f[2] and rcall("EXISTS", jobKey) == 0 then
    status = "missing"
  elseif f[4] then
    status = "finished:cancelled"
  elseif f[3] then
    status = f[5] and "finished:completed" or "finished:failed"
  else
    local was = takeOut(id, f[6], f[11])
    rcall("HSET", jobKey, "finishedOn", now, "cancelledOn", now, "cancelReason", reason, "cancelBy", by)
    rcall("HDEL", jobKey, "pb")
    if f[11] then
      -- Its group's head or one of its slots, perhaps: the group's next task may go in.
      feedGroup(prefix, k, f[11], groupCap(prefix), false, now)
    end
    rcall("RPUSH", prefix .. id .. ":logs", "cancelled by " .. by .. (reason ~= "" and (": " .. reason) or ""))
    rcall("ZADD", k.cancelled, now, id)
    noteFinished(id)
    status = "cancelled:" .. was
    if not slot then parts = parts + 1 end
    -- A chain's later step, a chord's callback: they can never run now.
    for i = 7, 8 do
      if f[i] then todo[#todo + 1] = { f[i] } end
    end
    -- A flow's own task named by the caller: every unfinished part of the flow goes with it.
    if slot then
      for i = 9, 10 do
        if f[i] then
          for part in string.gmatch(f[i], "[^,]+") do todo[#todo + 1] = { part } end
        end
      end
    end
  end
  if slot then statuses[slot] = status end
end

local total = #finishedNow
if total > 0 then
  rcall("HINCRBY", k.stats, "cancelled", total)
  trimFinished(k.cancelled, prefix, o.keep)
end
tellFinished(k, o, now)
if total > 0 then
  signalDrained(k, o)
end
remember(prefix, o, { s = statuses, p = parts })
return { statuses, parts }
