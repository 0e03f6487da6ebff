--[[
  Removes a closing handle's entries from a Condition's waiters.

  KEYS[1] waiters (ZSET) ids waiting on the condition -> arrival number

  ARGV[1] msgpack { session }

  Returns how many were removed.
]]
-- @include sync-lib
local o = cmsgpack.unpack(ARGV[1])
return dropOwnedMembers(KEYS[1], { [o.session] = true })
