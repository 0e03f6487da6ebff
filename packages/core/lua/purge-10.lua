--[[
  Removes tasks of a queue in one kind of state: waiting, delayed, both, or
  finished (completed or failed), at most `budget` per call (waiting includes
  flow steps blocked until earlier ones finish), so that a backlog
  of any size is removed in short steps that never block Redis for long: the
  caller repeats while it returns more. Removed waiting and delayed tasks count
  as finished for join (stats "discarded", as for an immediate shutdown);
  running tasks are never touched.

  With a cut-off (`cutoff` > 0) it removes only older tasks: of the wait list,
  those put at or before it, from the oldest end of the list (its tail, or its
  head for a LIFO queue) up to the first younger task from either end; of a
  finished set, those finished at or before it.

  KEYS[1] wait             (LIST)
  KEYS[2] paused           (LIST)
  KEYS[3] prioritized      (ZSET)
  KEYS[4] delayed          (ZSET)
  KEYS[5] active           (LIST)  read only: for "drained"
  KEYS[6] waiting-children (ZSET)  flow steps blocked until earlier ones finish (waiting ones)
  KEYS[7] stalled          (LIST)  tasks back from a consumer, waiting for room
  KEYS[8] stats            (HASH)  "discarded"
  KEYS[9] completed        (ZSET)  score = finish time
  KEYS[10] failed          (ZSET)  score = finish time

  ARGV[1] options (msgpack map):
          prefix        job key prefix
          channel, pub  pub/sub channel, and "PUBLISH" or "SPUBLISH"
          budget        most tasks removed per call
          which         what to remove: "waiting", "delayed", "both", "completed" or "failed"
          cutoff        ms since the epoch (0: every waiting task)

  Publishes "drained" once nothing is unfinished.
  Returns { tasks removed, 1 if it stopped at its budget (call again) else 0 }.
]]
-- @include queue-lib
local k = { wait = KEYS[1], paused = KEYS[2], prioritized = KEYS[3], delayed = KEYS[4], active = KEYS[5],
  waitingChildren = KEYS[6], stalled = KEYS[7], stats = KEYS[8], completed = KEYS[9], failed = KEYS[10] }
local o = options()
local prefix = o.prefix
local budget, cutoff = o.budget, o.cutoff
local removed = 0

local function drop(ids)
  for _, id in ipairs(ids) do removeJobKeys(prefix, id) end
  removed = removed + #ids
end

-- The run of tasks at one end of a list put at or before the cut-off, at most n.
local function oldRun(list, n, fromTail)
  local ids = fromTail and rcall("LRANGE", list, -n, -1) or rcall("LRANGE", list, 0, n - 1)
  local run = {}
  local first, last, step = #ids, 1, -1
  if not fromTail then first, last, step = 1, #ids, 1 end
  for i = first, last, step do
    local ts = tonumber(rcall("HGET", prefix .. ids[i], "timestamp"))
    if ts and ts > cutoff then break end
    run[#run + 1] = ids[i]
  end
  return run
end

if o.which == "completed" or o.which == "failed" then
  local set = o.which == "completed" and k.completed or k.failed
  local ids = rcall("ZRANGEBYSCORE", set, "-inf", cutoff > 0 and cutoff or "+inf", "LIMIT", 0, budget)
  if #ids > 0 then
    rcall("ZREM", set, unpack(ids))
    drop(ids)
  end
  return { #ids, #ids >= budget and 1 or 0 }
elseif cutoff > 0 then
  for _, fromTail in ipairs({ true, false }) do
    local left = budget - removed
    if left > 0 then
      local run = oldRun(k.wait, left, fromTail)
      if #run > 0 then
        if fromTail then rcall("LTRIM", k.wait, 0, -#run - 1) else rcall("LTRIM", k.wait, #run, -1) end
        drop(run)
      end
    end
  end
else
  local lists, sets = {}, {}
  -- Waiting includes flow steps blocked until earlier ones finish: they would never start once
  -- those are gone, and joiners would wait for them for ever.
  if o.which ~= "delayed" then lists = { k.wait, k.paused, k.stalled }; sets = { k.prioritized, k.waitingChildren } end
  if o.which ~= "waiting" then sets[#sets + 1] = k.delayed end
  for _, list in ipairs(lists) do
    local left = budget - removed
    if left > 0 then
      local ids = rcall("LRANGE", list, -left, -1)
      if #ids > 0 then
        rcall("LTRIM", list, 0, -#ids - 1)
        drop(ids)
      end
    end
  end
  for _, set in ipairs(sets) do
    local left = budget - removed
    if left > 0 then
      local ids = rcall("ZRANGE", set, 0, left - 1)
      if #ids > 0 then
        rcall("ZREM", set, unpack(ids))
        drop(ids)
      end
    end
  end
  -- Tasks parked in their groups (groups-lib) are waiting ones too.
  if o.which ~= "delayed" then drop(takeParked(prefix, budget - removed)) end
end
if removed > 0 then rcall("HINCRBY", k.stats, "discarded", removed) end
if nothingUnfinished(k) then
  rcall(o.pub, o.channel, "drained")
end
return { removed, removed >= budget and 1 or 0 }
