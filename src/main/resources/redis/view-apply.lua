-- Applies one session's view changes in place, installs a whole rebuilt view, or records an erasure.
-- KEYS: meta, msgs, tools, scopes, floor.
-- ARGV: mode ('apply' | 'install' | 'erase'), generation, fromVersion, toVersion, ttlMillis, then ops:
--   M <version> <json>   add a message scored by its version
--   T <version>          drop messages up to this version (a summary covers them)
--   C <field> <json>     set a tool-call half (req:<id> / res:<id>)
--   S <scope> <json>     set a scope document
--   H <field> <value>    set a meta field
-- A state of a session id is ordered by (generation, version): each erasure starts a new life, one generation up, at
-- version 0. The floor ("generation:version") is the newest state known to be committed. Only the ledger raises it
-- (every apply and erasure does, cached or not), and nothing below it is ever created or installed: a late write from a
-- paused former owner, of this life or of an erased one, or a rebuild that read PostgreSQL before a newer commit, is
-- refused instead of leaving a stale view that reads would keep alive.
-- An install raises the floor too (what it installs was committed), and reads refresh the floor's time to live with the
-- view's, so the floor outlives the view; an erased life's floor lasts ttlMillis after the erasure.
-- The floor of the first life (generation 0) is written as a plain version, the form replicas older than generations
-- read, so a rolling upgrade keeps working for every session id that was never erased.
-- Returns 1 when applied, 0 when skipped (not cached, already newer, or below the floor), -1 when a gap dropped the view.
local function below(g1, v1, g2, v2)
  return g1 < g2 or (g1 == g2 and v1 < v2)
end
local function floorValue(g, v)
  if g == 0 then
    return tostring(v)
  end
  return g .. ':' .. v
end
local mode = ARGV[1]
local gen = tonumber(ARGV[2])
local from = tonumber(ARGV[3])
local to = tonumber(ARGV[4])
local ttl = tonumber(ARGV[5])
local floorGen, floorVersion = 0, 0
local floor = redis.call('GET', KEYS[5])
if floor then
  local g, v = string.match(floor, '^(%d+):(%d+)$')
  if g then
    floorGen, floorVersion = tonumber(g), tonumber(v)
  else
    -- written before generations: a version of the first life
    floorVersion = tonumber(floor) or 0
  end
end
local current = redis.call('HGET', KEYS[1], 'version')
local currentGen = tonumber(redis.call('HGET', KEYS[1], 'generation') or '0')
if current and currentGen < gen then
  -- a view of an earlier life is never a base for this one
  if mode == 'install' or not below(gen, to, floorGen, floorVersion) then
    redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
    current = nil
  end
end
if mode == 'erase' then
  if below(floorGen, floorVersion, gen, to) then
    redis.call('SET', KEYS[5], floorValue(gen, to), 'PX', ttl)
  end
  return 1
end
if below(gen, to, floorGen, floorVersion) or (current and gen < currentGen) then
  return 0
end
if below(floorGen, floorVersion, gen, to) then
  redis.call('SET', KEYS[5], floorValue(gen, to), 'PX', ttl)
end
if mode == 'install' then
  if current and tonumber(current) >= to and currentGen == gen then
    return 0
  end
  redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
else
  if not current then
    -- A view that is not cached is only created from scratch for a new life, and only by its newest commit;
    -- otherwise the next read rebuilds it.
    if from ~= 0 then
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
local i = 6
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
redis.call('HSET', KEYS[1], 'version', to, 'generation', gen)
for k = 1, 4 do
  redis.call('PEXPIRE', KEYS[k], ttl)
end
return 1
