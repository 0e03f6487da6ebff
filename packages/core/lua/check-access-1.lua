--[[
  Checks, without running any of them, that the current user's ACL lets it run
  each command asyncq needs on a queue's keys and channel (redis.acl_check_cmd,
  Redis 7). Called before a handle changes anything, so a refused command is
  named at once and never after part of an operation has been applied.

  KEYS[1] a key of the queue (STRING or any type; not read): routes the call to
          the queue's node, and is what the ACL's key patterns are checked on

  ARGV[1] options (msgpack map):
          channel   the queue's pub/sub channel: what PUBLISH, SPUBLISH, SUBSCRIBE
                    and SSUBSCRIBE are checked on
  ARGV[2..n] command names

  Returns the first command refused, or "" when every one is allowed (or when
  this Redis cannot tell: before 7.0).
]]
if not redis.acl_check_cmd then
  return ""
end
local channel = cmsgpack.unpack(ARGV[1]).channel
local channelled = { PUBLISH = true, SPUBLISH = true, SUBSCRIBE = true, SSUBSCRIBE = true }
for i = 2, #ARGV do
  local command = ARGV[i]
  local arg = channelled[command] and channel or KEYS[1]
  -- A command this Redis does not know raises an error: it cannot be refused either.
  -- The same name for every argument: a command's second key (DEL, RENAME) is checked like its first.
  local ok, allowed = pcall(redis.acl_check_cmd, command, arg, arg)
  if ok and not allowed then
    return command
  end
end
return ""
