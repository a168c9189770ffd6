-- Reads a whole session view atomically and refreshes its time to live, and its floor's (view-apply.lua), so the floor
-- lives as long as the view is used. KEYS: meta, msgs, tools, scopes, floor. ARGV: ttlMillis.
-- Returns nil when the view is not cached. The time to live is renewed only once half of it has passed on the view or
-- on its floor: a view read often costs two PTTLs instead of five PEXPIREs.
local left = redis.call('PTTL', KEYS[1])
if left == -2 then
  return nil
end
local ttl = tonumber(ARGV[1])
local floorLeft = redis.call('PTTL', KEYS[5])
if left < ttl / 2 or floorLeft < ttl / 2 then
  for k = 1, 5 do
    redis.call('PEXPIRE', KEYS[k], ttl)
  end
else
  -- PTTL does not count as a use: under an eviction policy the floor must look as used as the view it guards
  redis.call('TOUCH', KEYS[5])
end
return {
  redis.call('HGETALL', KEYS[1]),
  redis.call('ZRANGE', KEYS[2], 0, -1),
  redis.call('HGETALL', KEYS[3]),
  redis.call('HGETALL', KEYS[4])
}
