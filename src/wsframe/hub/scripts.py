"""The Lua scripts the Redis hub runs (each one atomic on the server).

Publishing is one script, so the order of ids in a Stream and the order of
the live messages on its channel are the same on every process. Presence
scripts read the time on the Redis server (``TIME``), so the clocks of the
hosts running workers do not matter. Keys of one script share a hash tag,
so they live in one slot of a Redis Cluster.
"""

from __future__ import annotations

__all__ = ["PUBLISH", "CLAIM", "RELEASE", "MEMBERS", "PRUNE"]

_NOW = "local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"

#: KEYS[1] the topic's Stream; ARGV: channel, max length, body, ttl in ms.
#: Each entry keeps the id before it (``p``) so a gap can be told exactly.
PUBLISH = """
local top = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
local prev = ''
if top[1] then prev = top[1][1] end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'p', prev, 'm', ARGV[3])
if tonumber(ARGV[4]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[4]) end
redis.call('PUBLISH', ARGV[1], id .. ' ' .. ARGV[3])
return id
"""

#: KEYS: the room's sorted set (name -> expiry ms) and hash (name -> owner);
#: ARGV: name, owner, ttl in ms. 1 when held (taken or refreshed), 0 when
#: another owner holds the name and has not expired.
CLAIM = (
    _NOW
    + """
local expiry = redis.call('ZSCORE', KEYS[1], ARGV[1])
if expiry and tonumber(expiry) > now then
  local holder = redis.call('HGET', KEYS[2], ARGV[1])
  if holder and holder ~= ARGV[2] then return 0 end
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], 4 * tonumber(ARGV[3]))
redis.call('PEXPIRE', KEYS[2], 4 * tonumber(ARGV[3]))
return 1
"""
)

#: KEYS as CLAIM; ARGV: name, owner. Gives the name back if owner holds it.
RELEASE = """
if redis.call('HGET', KEYS[2], ARGV[1]) == ARGV[2] then
  redis.call('ZREM', KEYS[1], ARGV[1])
  redis.call('HDEL', KEYS[2], ARGV[1])
  return 1
end
return 0
"""

#: KEYS as CLAIM. The names not expired.
MEMBERS = _NOW + "return redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')\n"

#: KEYS as CLAIM. Removes the expired names (their process died) and returns them.
PRUNE = (
    _NOW
    + """
local gone = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
if gone[1] then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
  redis.call('HDEL', KEYS[2], unpack(gone))
end
return gone
"""
)
