#pragma once

#include <string_view>

namespace realtime {

// A topic's history in Redis (P = prefix; the braces keep both keys of a topic in one cluster
// slot):
//   P history:{<topic>}       stream  entry id "<offset>-0": d = the published payload (with
//                                     "offset"), t = when it was stored (Redis' clock, Unix ms)
//   P history:{<topic>}:meta  hash    e = epoch, o = last offset
// The epoch is created with the meta hash; when the hash is gone (FLUSHALL, a restart without
// persistence, its ttl) a new one starts and any stream left behind is dropped, so an offset
// never means two events in one epoch.

// Stores and publishes the events of one batch: each takes its topic's next offset and is stored
// and PUBLISHed in one atomic step, so the order of offsets is the order of delivery. One call per
// batch: Redis pays the script's overhead once, and it is still one round trip.
// KEYS: stream and meta of each event, in order. ARGV: epoch if new, the publish command
// (PUBLISH, or SPUBLISH on Redis Cluster: then every key and channel of a call is in one slot),
// then per event: channel, payload (a JSON object), size, ttl seconds, meta ttl seconds. Returns
// the number stored.
// (Events older than the ttl are aged out when the history is read; the stream's memory is
// bounded by its size and by the key's ttl.)
inline constexpr std::string_view redis_history_publish_script = R"lua(
local epoch = ARGV[1]
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
for i = 1, #KEYS / 2 do
  local stream, meta = KEYS[2 * i - 1], KEYS[2 * i]
  local a = 2 + (i - 1) * 5
  local n = redis.call('HINCRBY', meta, 'o', 1)
  -- The first event of an epoch (or after a read created it): whatever stream is left is stale.
  if n == 1 then
    redis.call('HSETNX', meta, 'e', epoch)
    redis.call('DEL', stream)
  end
  local offset = string.format('%d', n)
  local payload = string.sub(ARGV[a + 2], 1, -2) .. ',"offset":' .. offset .. '}'
  redis.call('XADD', stream, 'MAXLEN', '~', ARGV[a + 3], offset .. '-0', 'd', payload, 't', now)
  redis.call('EXPIRE', stream, ARGV[a + 4])
  redis.call('EXPIRE', meta, ARGV[a + 5])
  redis.call(ARGV[2], ARGV[a + 1], payload)
end
return #KEYS / 2
)lua";

// Where the stream stands and the events after an offset.
// KEYS: stream, meta. ARGV: since, limit, size, ttl seconds, epoch if new, meta ttl seconds.
// Returns {epoch, offset, first kept offset, {payload...}}. Ages are by Redis' clock (TIME), the
// one clock every node shares.
inline constexpr std::string_view redis_history_read_script = R"lua(
local stream, meta = KEYS[1], KEYS[2]
if redis.call('HSETNX', meta, 'e', ARGV[5]) == 1 then
  redis.call('DEL', stream)
  redis.call('EXPIRE', meta, ARGV[6])
end
local epoch = redis.call('HGET', meta, 'e')
local top = tonumber(redis.call('HGET', meta, 'o') or '0')
local t = redis.call('TIME')
local oldest = t[1] * 1000 + math.floor(t[2] / 1000) - tonumber(ARGV[4]) * 1000
while true do
  local first = redis.call('XRANGE', stream, '-', '+', 'COUNT', 1)[1]
  if first == nil or tonumber(first[2][4]) >= oldest then break end
  redis.call('XDEL', stream, first[1])
end
local first_kept = top + 1
local first = redis.call('XRANGE', stream, '-', '+', 'COUNT', 1)[1]
if first ~= nil then
  first_kept = tonumber(string.match(first[1], '^(%d+)'))
  -- MAXLEN ~ trims in whole nodes: the count bound is exact here.
  local by_count = top - tonumber(ARGV[3]) + 1
  if by_count > first_kept then first_kept = by_count end
end
local payloads = {}
local from = tonumber(ARGV[1]) + 1
if from < first_kept then from = first_kept end
local limit = tonumber(ARGV[2])
if limit > 0 and from <= top then
  local entries = redis.call('XRANGE', stream, string.format('%d-0', from), '+', 'COUNT', limit)
  for i, e in ipairs(entries) do payloads[i] = e[2][2] end
end
return {epoch, top, first_kept, payloads}
)lua";

}  // namespace realtime
