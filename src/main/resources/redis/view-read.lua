-- Reads a whole session view atomically and refreshes its time to live, and its floor's (view-apply.lua), so the floor
-- lives as long as the view is used. KEYS: meta, msgs, tools, scopes, floor. ARGV: ttlMillis.
-- Returns nil when the view is not cached.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return nil
end
local ttl = tonumber(ARGV[1])
for k = 1, 5 do
  redis.call('PEXPIRE', KEYS[k], ttl)
end
return {
  redis.call('HGETALL', KEYS[1]),
  redis.call('ZRANGE', KEYS[2], 0, -1),
  redis.call('HGETALL', KEYS[3]),
  redis.call('HGETALL', KEYS[4])
}
