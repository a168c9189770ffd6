-- Applies one session's view changes in place, or installs a whole rebuilt view.
-- KEYS: meta, msgs, tools, scopes, floor.  ARGV: mode ('apply' | 'install'), fromVersion, toVersion, ttlMillis, then ops:
--   M <version> <json>   add a message scored by its version
--   T <version>          drop messages up to this version (a summary covers them)
--   C <field> <json>     set a tool-call half (req:<id> / res:<id>)
--   S <scope> <json>     set a scope document
--   H <field> <value>    set a meta field
-- The floor is the highest version known to be committed. Only the ledger raises it (every apply does, cached or not),
-- and nothing below it is ever created or installed: a late write from a paused former owner, or a rebuild that read
-- PostgreSQL before a newer commit, is refused instead of leaving a stale view that reads would keep alive.
-- Returns 1 when applied, 0 when skipped (not cached, already newer, or below the floor), -1 when a gap dropped the view.
local current = redis.call('HGET', KEYS[1], 'version')
local from = tonumber(ARGV[2])
local to = tonumber(ARGV[3])
local ttl = tonumber(ARGV[4])
local floor = tonumber(redis.call('GET', KEYS[5]) or '0')
if ARGV[1] == 'install' then
  if to < floor or (current and tonumber(current) >= to) then
    return 0
  end
  redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
else
  if to > floor then
    redis.call('SET', KEYS[5], to, 'PX', ttl)
  end
  if not current then
    -- A view that is not cached is only created from scratch for a new session, and only by its newest commit;
    -- otherwise the next read rebuilds it.
    if from ~= 0 or to < floor then
      return 0
    end
  else
    current = tonumber(current)
    if current >= to then
      return 0
    end
    if current ~= from then
      redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
      return -1
    end
  end
end
local i = 5
local n = #ARGV
while i <= n do
  local op = ARGV[i]
  if op == 'M' then
    redis.call('ZADD', KEYS[2], ARGV[i + 1], ARGV[i + 2])
    i = i + 3
  elseif op == 'T' then
    redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[i + 1])
    i = i + 2
  elseif op == 'C' then
    redis.call('HSET', KEYS[3], ARGV[i + 1], ARGV[i + 2])
    i = i + 3
  elseif op == 'S' then
    redis.call('HSET', KEYS[4], ARGV[i + 1], ARGV[i + 2])
    i = i + 3
  elseif op == 'H' then
    redis.call('HSET', KEYS[1], ARGV[i + 1], ARGV[i + 2])
    i = i + 3
  else
    return redis.error_reply('unknown view op ' .. tostring(op))
  end
end
redis.call('HSET', KEYS[1], 'version', to)
for k = 1, 4 do
  redis.call('PEXPIRE', KEYS[k], ttl)
end
return 1
