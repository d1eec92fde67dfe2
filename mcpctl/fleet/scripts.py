"""The Lua the fleet runs in Redis: each request's state in one round trip, on Redis's own clock."""

from __future__ import annotations

from typing import Final

# KEYS: session hash ('' for none), live-sessions zset, then rate-limit buckets
# ARGV: principal tag, idle ttl ms, session id, then per bucket: emission interval us, burst
# -> {session fields (or false), then per bucket: 0 allowed | microseconds to wait}
# The buckets are GCRA on Redis's clock: instances' clocks never matter, and every instance's
# call takes its token in the same atomic step, so a limit holds exactly across the fleet.
LOAD_AND_ADMIT: Final = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local now_us = tonumber(t[1]) * 1000000 + tonumber(t[2])
local out = {false}
if KEYS[1] ~= '' then
  local fields = redis.call('HGETALL', KEYS[1])
  local p, a = nil, nil
  for i = 1, #fields, 2 do
    if fields[i] == 'p' then p = fields[i + 1] elseif fields[i] == 'a' then a = tonumber(fields[i + 1]) end
  end
  if #fields > 0 and p == ARGV[1] and a ~= nil and a >= now then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), ARGV[3])
    out[1] = fields
  elseif #fields > 0 and a ~= nil and a < now then
    redis.call('DEL', KEYS[1])
    redis.call('ZREM', KEYS[2], ARGV[3])
  end
end
for b = 3, #KEYS do
  local interval = tonumber(ARGV[2 * b - 2])
  local burst = tonumber(ARGV[2 * b - 1])
  local tat = tonumber(redis.call('GET', KEYS[b]) or now_us)
  if tat < now_us then tat = now_us end
  local allow_at = tat + interval - burst * interval
  if now_us < allow_at then
    out[#out + 1] = allow_at - now_us
  else
    out[#out + 1] = 0
    redis.call('SET', KEYS[b], tat + interval, 'PX', math.ceil((tat + interval - now_us) / 1000) + 1)
  end
end
return out
"""

# Count the fleet's live sessions (expired members leave the zset as they are counted).
COUNT_LIVE: Final = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return redis.call('ZCARD', KEYS[1])
"""
