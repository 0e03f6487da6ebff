--[[
  Removes tasks of a queue in one kind of state: waiting, delayed, both, or
  finished (completed or failed), at most ARGV[4] per call, so that a backlog
  of any size is removed in short steps that never block Redis for long: the
  caller repeats while it returns more. Removed waiting and delayed tasks count
  as finished for join (stats "discarded", as for an immediate shutdown);
  running tasks are never touched.

  With a cut-off (ARGV[6] > 0) it removes only older tasks: of the wait list,
  those put at or before it, from the oldest end of the list (its tail, or its
  head for a LIFO queue) up to the first younger task from either end; of a
  finished set, those finished at or before it.

  KEYS[1] wait             (LIST)
  KEYS[2] paused           (LIST)
  KEYS[3] prioritized      (ZSET)
  KEYS[4] delayed          (ZSET)
  KEYS[5] active           (LIST)  read only: for "drained"
  KEYS[6] waiting-children (ZSET)  read only: for "drained"
  KEYS[7] stalled          (LIST)  tasks back from a consumer, waiting for room
  KEYS[8] stats            (HASH)  "discarded"
  KEYS[9] completed        (ZSET)  score = finish time
  KEYS[10] failed          (ZSET)  score = finish time

  ARGV[1] job key prefix
  ARGV[2] pub/sub channel
  ARGV[3] "PUBLISH" or "SPUBLISH"
  ARGV[4] most tasks removed per call
  ARGV[5] what to remove: "waiting", "delayed", "both", "completed" or "failed"
  ARGV[6] cut-off, ms since the epoch (0: every waiting task)

  Publishes "drained" once nothing is unfinished.
  Returns { tasks removed, 1 if it stopped at its budget (call again) else 0 }.
]]
-- @include queue-lib
local prefix, channel, pub = ARGV[1], ARGV[2], ARGV[3]
local budget, cutoff = tonumber(ARGV[4]), tonumber(ARGV[6])
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

if ARGV[5] == "completed" or ARGV[5] == "failed" then
  local set = ARGV[5] == "completed" and KEYS[9] or KEYS[10]
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
      local run = oldRun(KEYS[1], left, fromTail)
      if #run > 0 then
        if fromTail then rcall("LTRIM", KEYS[1], 0, -#run - 1) else rcall("LTRIM", KEYS[1], #run, -1) end
        drop(run)
      end
    end
  end
else
  local lists, sets = {}, {}
  if ARGV[5] ~= "delayed" then lists = { KEYS[1], KEYS[2], KEYS[7] }; sets = { KEYS[3] } end
  if ARGV[5] ~= "waiting" then sets[#sets + 1] = KEYS[4] end
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
end
if removed > 0 then rcall("HINCRBY", KEYS[8], "discarded", removed) end
if nothingUnfinished(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]) then
  rcall(pub, channel, "drained")
end
return { removed, removed >= budget and 1 or 0 }
