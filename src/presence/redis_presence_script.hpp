#pragma once

#include <string_view>

namespace realtime {

// Cluster-wide presence in Redis, updated atomically by one Lua script. Layout (P = prefix):
//   P presence:<topic>         hash  user -> "<folded status>:<connections>"
//   P pconn:<topic>|<user>     hash  connection -> its status
//   P nodetopics:<node>        set   "<topic>|<user>" this node has connections in
//   P nodes                    zset  node -> liveness deadline (Redis time, ms)
//   P user:<user>              hash  connection -> its status, every connection of the user
//   P nodeusers:<node>         set   users this node has connections of
// '|' is in neither topics nor user ids, so the keys can't collide. Connection ids start with
// "<node>-", which is how a dead node's connections are found.
//
// ARGV[1] = prefix, ARGV[2] = operation:
//   connect    node user conn status          a connection of the user opened
//   disconnect node user conn                 it closed
//   join   node user conn status topic...   the connection is present in the topics
//   leave  node user conn topic...          it left them
//   status node user conn status topic...   its status changed (also across the user)
//   alive  node ttl_ms                      this node lives on; reap nodes whose deadline passed
//   bye    node                             this node leaves: remove its connections now
// Returns {topic changes, user changes}: the first flat as user, topic, old status, new status,
// ...; the second as user, folded status, connections, ... for every user whose connections
// changed cluster-wide (for last-seen). Each change happens in exactly one script run, so
// exactly one node reports it.
inline constexpr std::string_view redis_presence_script = R"LUA(
local p, op = ARGV[1], ARGV[2]
local rank = {away = 1, online = 2, dnd = 3}
local names = {'away', 'online', 'dnd'}
local out = {}
local users = {}

local function fold_hash(key)
  local vals = redis.call('HVALS', key)
  local best = 0
  for _, v in ipairs(vals) do
    local r = rank[v] or 2
    if r > best then best = r end
  end
  if #vals == 0 then return 'offline', 0 end
  return names[best], #vals
end

local function report_user(user)
  local status, count = fold_hash(p .. 'user:' .. user)
  users[#users + 1] = user
  users[#users + 1] = status
  users[#users + 1] = tostring(count)
end

local function refold(topic, user)
  local pkey = p .. 'presence:' .. topic
  local ckey = p .. 'pconn:' .. topic .. '|' .. user
  local before = redis.call('HGET', pkey, user)
  local old = before and string.match(before, '^([^:]+)') or 'offline'
  local new, count = fold_hash(ckey)
  if count == 0 then
    redis.call('HDEL', pkey, user)
  else
    redis.call('HSET', pkey, user, new .. ':' .. count)
  end
  if old ~= new then
    out[#out + 1] = user
    out[#out + 1] = topic
    out[#out + 1] = old
    out[#out + 1] = new
  end
end

local function reap(node)
  local prefix = node .. '-'
  local members = redis.call('SMEMBERS', p .. 'nodetopics:' .. node)
  for _, m in ipairs(members) do
    local bar = string.find(m, '|', 1, true)
    local topic, user = string.sub(m, 1, bar - 1), string.sub(m, bar + 1)
    local ckey = p .. 'pconn:' .. topic .. '|' .. user
    for _, conn in ipairs(redis.call('HKEYS', ckey)) do
      if string.sub(conn, 1, #prefix) == prefix then redis.call('HDEL', ckey, conn) end
    end
    refold(topic, user)
  end
  redis.call('DEL', p .. 'nodetopics:' .. node)
  for _, user in ipairs(redis.call('SMEMBERS', p .. 'nodeusers:' .. node)) do
    local ukey = p .. 'user:' .. user
    for _, conn in ipairs(redis.call('HKEYS', ukey)) do
      if string.sub(conn, 1, #prefix) == prefix then redis.call('HDEL', ukey, conn) end
    end
    report_user(user)
  end
  redis.call('DEL', p .. 'nodeusers:' .. node)
  redis.call('ZREM', p .. 'nodes', node)
end

if op == 'connect' then
  local node, user, conn, status = ARGV[3], ARGV[4], ARGV[5], ARGV[6]
  redis.call('HSET', p .. 'user:' .. user, conn, status)
  redis.call('SADD', p .. 'nodeusers:' .. node, user)
  report_user(user)
elseif op == 'disconnect' then
  local node, user, conn = ARGV[3], ARGV[4], ARGV[5]
  local ukey = p .. 'user:' .. user
  if redis.call('HDEL', ukey, conn) == 1 then
    local mine = false
    for _, c in ipairs(redis.call('HKEYS', ukey)) do
      if string.sub(c, 1, #node + 1) == node .. '-' then mine = true end
    end
    if not mine then redis.call('SREM', p .. 'nodeusers:' .. node, user) end
    report_user(user)
  end
elseif op == 'join' or op == 'status' then
  local node, user, conn, status = ARGV[3], ARGV[4], ARGV[5], ARGV[6]
  for i = 7, #ARGV do
    local topic = ARGV[i]
    local ckey = p .. 'pconn:' .. topic .. '|' .. user
    if op == 'join' or redis.call('HEXISTS', ckey, conn) == 1 then
      redis.call('HSET', ckey, conn, status)
      redis.call('SADD', p .. 'nodetopics:' .. node, topic .. '|' .. user)
      refold(topic, user)
    end
  end
  if op == 'status' and redis.call('HEXISTS', p .. 'user:' .. user, conn) == 1 then
    redis.call('HSET', p .. 'user:' .. user, conn, status)
    report_user(user)
  end
elseif op == 'leave' then
  local node, user, conn = ARGV[3], ARGV[4], ARGV[5]
  for i = 6, #ARGV do
    local topic = ARGV[i]
    local ckey = p .. 'pconn:' .. topic .. '|' .. user
    if redis.call('HDEL', ckey, conn) == 1 then
      refold(topic, user)
      -- Forget the (topic, user) pair for this node once none of its connections is left there.
      local mine = false
      for _, c in ipairs(redis.call('HKEYS', ckey)) do
        if string.sub(c, 1, #node + 1) == node .. '-' then mine = true end
      end
      if not mine then redis.call('SREM', p .. 'nodetopics:' .. node, topic .. '|' .. user) end
    end
  end
elseif op == 'alive' then
  local node, ttl = ARGV[3], tonumber(ARGV[4])
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  redis.call('ZADD', p .. 'nodes', now + ttl, node)
  for _, dead in ipairs(redis.call('ZRANGEBYSCORE', p .. 'nodes', '-inf', now)) do
    if dead ~= node then reap(dead) end
  end
elseif op == 'bye' then
  reap(ARGV[3])
else
  return redis.error_reply('unknown presence operation ' .. tostring(op))
end
return {out, users}
)LUA";

}  // namespace realtime
