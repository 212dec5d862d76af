"""Lua scripts for group coordination. Each touches only keys of one group, which share a
Cluster hash tag, so every script runs in a single slot.

Time is Redis's own clock (TIME), so members on machines with skewed clocks agree.
A lease value is "expiry_ms:token:consumer_id"; a lease is held by the instance with
that token until its expiry, unless that instance releases it first.
"""

from __future__ import annotations

_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function lease(exp, tok, cid)
  return string.format('%.0f', exp) .. ':' .. tok .. ':' .. cid
end
"""

# KEYS members, instances, leases, heartbeats; ARGV consumer_id, token, ttl_ms, join(0|1)
# Returns {1, now, held partitions, members+scores, lost}, or {0, now, held partitions}
# when fenced: a fenced instance is no member any more, but it keeps the leases it holds
# until its workers have finished their in-flight jobs and released them. lost is 1 when
# a member that had joined finds its registration gone: the group's keys were lost
# (FLUSHALL, DEL, a restart without persistence) or its heartbeat had expired.
HEARTBEAT = (
    _NOW
    + """
local cid, token, ttl, join = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4] == '1'
local current = redis.call('HGET', KEYS[2], cid)
local fenced = current and current ~= token and not join
if not fenced then
  if current ~= token then redis.call('HSET', KEYS[2], cid, token) end
  for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)) do
    if m ~= cid then redis.call('HDEL', KEYS[2], m) end
    redis.call('HDEL', KEYS[4], m)
  end
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
  redis.call('ZADD', KEYS[1], now + ttl, cid)
  redis.call('HSET', KEYS[4], cid, now)
end
local held = {}
local all = redis.call('HGETALL', KEYS[3])
for i = 1, #all, 2 do
  local exp, tok = string.match(all[i + 1], '^(%d+):([^:]*):')
  if tok == token and tonumber(exp) > now then
    redis.call('HSET', KEYS[3], all[i], lease(now + ttl, token, cid))
    table.insert(held, tonumber(all[i]))
  end
end
if fenced then return {0, now, held} end
local lost = 0
if not current and not join then lost = 1 end
return {1, now, held, redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES'), lost}
"""
)

# KEYS instances, leases; ARGV consumer_id, token, ttl_ms, partition...
# Takes each free lease: expired, already ours, or absent. An unexpired lease of another
# instance is never taken, even if that instance was fenced or its member entry expired:
# it may still be running a job of the partition (it releases the lease when done).
# An absent lease is not free while the server has been up for less than ttl: a restart
# without persistence forgets leases whose holders may still be running jobs (on their
# own clocks, for at most ttl). A lease value that does not parse counts as expired.
# Returns {now, acquired partitions, earliest expiry of a blocker}.
ACQUIRE = (
    _NOW
    + """
local cid, token, ttl = ARGV[1], ARGV[2], tonumber(ARGV[3])
if redis.call('HGET', KEYS[1], cid) ~= token then return {now, {}, 0} end
local info = redis.call('INFO', 'server')
local uptime = tonumber(string.match(info, 'uptime_in_seconds:(%d+)') or '4294967295')
local settled = now + ttl - uptime * 1000  -- absent leases are free from then on
local got, wait = {}, 0
for i = 4, #ARGV do
  local v = redis.call('HGET', KEYS[2], ARGV[i])
  local free = true
  if v then
    local exp, tok = string.match(v, '^(%d+):([^:]*):')
    exp = tonumber(exp)
    if exp and tok ~= token and exp > now then
      free = false
      if wait == 0 or exp < wait then wait = exp end
    end
  elseif settled > now then
    free = false
    if wait == 0 or settled < wait then wait = settled end
  end
  if free then
    redis.call('HSET', KEYS[2], ARGV[i], lease(now + ttl, token, cid))
    table.insert(got, tonumber(ARGV[i]))
  end
end
return {now, got, wait}
"""
)

# KEYS leases; ARGV token, ttl_ms, consumer_id, partition
# Extends one lease if this instance still holds it. Returns 1 if held, else 0.
CONFIRM = (
    _NOW
    + """
local v = redis.call('HGET', KEYS[1], ARGV[4])
if not v then return 0 end
local exp, tok = string.match(v, '^(%d+):([^:]*):')
if tok ~= ARGV[1] or tonumber(exp) <= now then return 0 end
redis.call('HSET', KEYS[1], ARGV[4], lease(now + tonumber(ARGV[2]), ARGV[1], ARGV[3]))
return 1
"""
)

# KEYS leases; ARGV token, partition...  Drops the leases this instance holds.
RELEASE = """
local n = 0
for i = 2, #ARGV do
  local v = redis.call('HGET', KEYS[1], ARGV[i])
  if v and string.match(v, '^%d+:([^:]*):') == ARGV[1] then
    redis.call('HDEL', KEYS[1], ARGV[i])
    n = n + 1
  end
end
return n
"""

# KEYS members, instances, leases, heartbeats; ARGV consumer_id, token
# Deregisters this instance (unless a newer one took its id) and drops its leases.
LEAVE = """
local cid, token = ARGV[1], ARGV[2]
if redis.call('HGET', KEYS[2], cid) == token then
  redis.call('HDEL', KEYS[2], cid)
  redis.call('ZREM', KEYS[1], cid)
  redis.call('HDEL', KEYS[4], cid)
end
local all = redis.call('HGETALL', KEYS[3])
for i = 1, #all, 2 do
  if string.match(all[i + 1], '^%d+:([^:]*):') == token then redis.call('HDEL', KEYS[3], all[i]) end
end
return 1
"""

# KEYS partitions; ARGV wanted count, largest valid count. Grows the count, never shrinks
# it; returns it. A stored value that is not a valid count (junk) counts as 0, as in Python.
GROW = """
local v = redis.call('GET', KEYS[1])
local current = 0
if v and string.match(v, '^%d+$') and #v <= 9 then current = tonumber(v) end
if current > tonumber(ARGV[2]) then current = 0 end
local wanted = tonumber(ARGV[1])
if wanted > current then
  redis.call('SET', KEYS[1], wanted)
  return wanted
end
return current
"""

# KEYS meta; ARGV start_from ('earliest'|'latest'). The id new partition groups start at,
# fixed when the group is first seen so partitions added later start at the same point.
GROUP_START = (
    _NOW
    + """
local id = redis.call('HGET', KEYS[1], 'start_id')
if id and string.match(id, '^%d+%-%d+$') then return id end  -- (junk: fixed anew)
if ARGV[1] == 'latest' then id = string.format('%.0f', now) .. '-0' else id = '0-0' end
redis.call('HSET', KEYS[1], 'start_id', id, 'start_from', ARGV[1])
return id
"""
)

# KEYS stream; ARGV group, consumer. Deletes the group's consumer entry if nothing is
# pending under it (XGROUP DELCONSUMER would drop its pending entries: never do that).
FORGET = """
local pending = redis.pcall('XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[2])
if type(pending) ~= 'table' or pending.err or #pending > 0 then return 0 end
redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])
return 1
"""

# KEYS leases, heartbeats, members. One consistent view of a group for `info`: Redis's
# time with the three keys, read at one instant (a heartbeat cannot land in between).
# Returns {now, leases (flat), heartbeats (flat), members with scores (flat)}.
SNAPSHOT = (
    _NOW
    + """
return {now, redis.call('HGETALL', KEYS[1]), redis.call('HGETALL', KEYS[2]),
        redis.call('ZRANGE', KEYS[3], 0, -1, 'WITHSCORES')}
"""
)
