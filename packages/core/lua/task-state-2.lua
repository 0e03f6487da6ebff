#!lua flags=allow-oom
--[[
  Where one task is now, for TaskRef.state(). Only reads. A flow's own task (a
  chain's last step, a chord's callback) that is still blocked reports the
  state of the flow: the state of a chain's first unfinished step, and for a
  chord "running" once any task of its group runs, else "waiting".

  KEYS[1]  delayed          (ZSET)
  KEYS[2]  waiting-children (ZSET)  flow steps blocked until earlier ones finish
  (and, within the same hash tag: the job hashes)

  ARGV[1]  options (msgpack map):
           prefix        job key prefix
           id            the job id

  Returns "missing", "waiting", "delayed", "running", "completed", "failed" or "cancelled".
]]
-- @include queue-lib
local k = { delayed = KEYS[1], waitingChildren = KEYS[2] }
local o = options()

local function stateOf(id, deep)
  local f = rcall("HMGET", o.prefix .. id, "name", "timestamp", "finishedOn", "cancelledOn", "returnvalue", "pb", "steps", "group")
  if not f[1] and not f[2] and rcall("EXISTS", o.prefix .. id) == 0 then return "missing" end
  if f[4] then return "cancelled" end
  if f[3] then return f[5] and "completed" or "failed" end
  if f[6] then return "running" end
  if rcall("ZSCORE", k.delayed, id) then return "delayed" end
  if deep and rcall("ZSCORE", k.waitingChildren, id) then
    if f[7] then
      for part in string.gmatch(f[7], "[^,]+") do
        local s = stateOf(part, false)
        if s == "waiting" or s == "delayed" or s == "running" then return s end
      end
    elseif f[8] then
      for part in string.gmatch(f[8], "[^,]+") do
        if stateOf(part, false) == "running" then return "running" end
      end
    end
  end
  return "waiting"
end

return stateOf(o.id, true)
