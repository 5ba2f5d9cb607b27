#pragma once

#include <string>
#include <string_view>

namespace realtime {

// Cluster-wide presence in Redis. Layout (P = prefix):
//   P presence:{<topic>}          hash  user -> "<folded status>:<connections>"
//   P pconn:{<topic>}|<user>      hash  connection -> its status
//   P pusers:{<topic>}|<node>     set   users the node has connections of in the topic
//   P user:{<user>}               hash  connection -> its status, every connection of the user
//   P userat:{<user>}             string the time of the user's last reported change (ms, 60 s TTL)
//   P nodetopics:<node>           set   topics the node has connections in
//   P nodeusers:<node>            set   users the node has connections of
//   P nodes                       zset  node -> liveness deadline (Redis time, ms)
// Redis Cluster lets a script touch the keys of one slot only, so keys are hash-tagged by topic
// or by user and every script run stays within one topic or one user: KEYS[1] (the topic's or
// user's key above, or P nodes) routes it. '{', '}' and '|' are in neither topics nor user ids.
// Connection ids start with "<node>-", which is how a node's connections are found. The node
// sets follow the node's own mirror: a reaper reads them to know which topics and users to
// visit. On one Redis the script keeps them (KEYS[2], below), in the same atomic run as the
// entry it tracks; on Cluster they live in another slot, so the node SADDs before and SREMs
// after the script run with plain commands.
//
// ARGV[1] = prefix, ARGV[2] = operation:
//   KEYS[1] = P presence:{topic}
//     join      node user conn status topic   the connection is present in the topic
//     status    node user conn status topic   its status changed (if it is in the topic)
//     leave     node user conn topic          it left the topic
//     reaptopic node topic                    remove the node's connections from the topic
//   KEYS[1] = P user:{user}
//     connect    user conn status             a connection of the user opened
//     disconnect user conn                    it closed
//     userstatus user conn status             its status changed
//     reapuser   node user                    remove the node's connections of the user
//   KEYS[2], when given with join, leave, connect or disconnect: this node's topic set (join,
//     leave) or user set (connect, disconnect), given when the topic or user is the node's first
//     (SADD) or was its last (SREM); never on Cluster
//   KEYS[1] = P nodes
//     alive  node ttl_ms   push this node's deadline; returns {1 if its deadline had passed or it
//                          was missing (it may have been reaped) else 0, dead nodes...}
//     gone   node          drop a reaped node's deadline, unless it came back meanwhile
// Topic and user operations return {topic changes, user changes}: the first flat as user, topic,
// old status, new status, ...; the second as user, folded status, connections, time, ... (for
// last-seen). Each change happens in exactly one script run, so exactly one node reports it;
// reaps only report what they removed, so overlapping reapers don't report twice. A user's
// changes reach the database from several nodes in any order; their time (Redis' clock, made
// strictly increasing per user) is what orders the rows there.
inline constexpr std::string_view redis_presence_script = R"LUA(
local p, op = ARGV[1], ARGV[2]
local rank = {away = 1, online = 2, dnd = 3}
local names = {'away', 'online', 'dnd'}
local out = {}
local users = {}

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

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

local function topic_key(topic) return p .. 'presence:{' .. topic .. '}' end
local function conn_key(topic, user) return p .. 'pconn:{' .. topic .. '}|' .. user end
local function user_key(user) return p .. 'user:{' .. user .. '}' end
local function pusers_key(topic, node) return p .. 'pusers:{' .. topic .. '}|' .. node end

local function is_of(conn, node) return string.sub(conn, 1, #node + 1) == node .. '-' end

local function has_conn_of(key, node)
  for _, c in ipairs(redis.call('HKEYS', key)) do
    if is_of(c, node) then return true end
  end
  return false
end

local function remove_conns_of(key, node)
  local removed = 0
  for _, c in ipairs(redis.call('HKEYS', key)) do
    if is_of(c, node) then removed = removed + redis.call('HDEL', key, c) end
  end
  return removed
end

local function report_user(user)
  local status, count = fold_hash(user_key(user))
  local at_key = p .. 'userat:{' .. user .. '}'
  local at = now_ms()
  local last = tonumber(redis.call('GET', at_key) or '0')
  if at <= last then at = last + 1 end
  redis.call('SET', at_key, at, 'PX', 60000)
  users[#users + 1] = user
  users[#users + 1] = status
  users[#users + 1] = tostring(count)
  users[#users + 1] = tostring(at)
end

local function refold(topic, user)
  local pkey = topic_key(topic)
  local before = redis.call('HGET', pkey, user)
  local old = before and string.match(before, '^([^:]+)') or 'offline'
  local new, count = fold_hash(conn_key(topic, user))
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

if op == 'join' or op == 'status' then
  local node, user, conn, status, topic = ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
  local ckey = conn_key(topic, user)
  if op == 'join' and KEYS[2] then redis.call('SADD', KEYS[2], topic) end
  if op == 'join' or redis.call('HEXISTS', ckey, conn) == 1 then
    redis.call('HSET', ckey, conn, status)
    redis.call('SADD', pusers_key(topic, node), user)
    refold(topic, user)
  end
elseif op == 'leave' then
  local node, user, conn, topic = ARGV[3], ARGV[4], ARGV[5], ARGV[6]
  local ckey = conn_key(topic, user)
  if redis.call('HDEL', ckey, conn) == 1 then
    refold(topic, user)
    if not has_conn_of(ckey, node) then redis.call('SREM', pusers_key(topic, node), user) end
  end
  if KEYS[2] then redis.call('SREM', KEYS[2], topic) end
elseif op == 'reaptopic' then
  local node, topic = ARGV[3], ARGV[4]
  local ukey = pusers_key(topic, node)
  for _, user in ipairs(redis.call('SMEMBERS', ukey)) do
    remove_conns_of(conn_key(topic, user), node)
    refold(topic, user)
  end
  redis.call('DEL', ukey)
elseif op == 'connect' then
  local user, conn, status = ARGV[3], ARGV[4], ARGV[5]
  if KEYS[2] then redis.call('SADD', KEYS[2], user) end
  redis.call('HSET', user_key(user), conn, status)
  report_user(user)
elseif op == 'disconnect' then
  local user, conn = ARGV[3], ARGV[4]
  if redis.call('HDEL', user_key(user), conn) == 1 then report_user(user) end
  if KEYS[2] then redis.call('SREM', KEYS[2], user) end
elseif op == 'userstatus' then
  local user, conn, status = ARGV[3], ARGV[4], ARGV[5]
  if redis.call('HEXISTS', user_key(user), conn) == 1 then
    redis.call('HSET', user_key(user), conn, status)
    report_user(user)
  end
elseif op == 'reapuser' then
  local node, user = ARGV[3], ARGV[4]
  if remove_conns_of(user_key(user), node) > 0 then report_user(user) end
elseif op == 'alive' then
  local node, ttl = ARGV[3], tonumber(ARGV[4])
  local now = now_ms()
  local before = redis.call('ZSCORE', p .. 'nodes', node)
  local lapsed = 0
  if not before or tonumber(before) <= now then lapsed = 1 end
  redis.call('ZADD', p .. 'nodes', now + ttl, node)
  local reply = {lapsed}
  for _, dead in ipairs(redis.call('ZRANGEBYSCORE', p .. 'nodes', '-inf', now)) do
    if dead ~= node then reply[#reply + 1] = dead end
  end
  return reply
elseif op == 'gone' then
  local node = ARGV[3]
  local deadline = redis.call('ZSCORE', p .. 'nodes', node)
  if deadline and tonumber(deadline) <= now_ms() then
    return redis.call('ZREM', p .. 'nodes', node)
  end
  return 0
else
  return redis.error_reply('unknown presence operation ' .. tostring(op))
end
return {out, users}
)LUA";

// The key names of the layout above; KEYS[1] of the script's operations.
inline std::string presence_topic_key(std::string_view prefix, std::string_view topic) {
  std::string key(prefix);
  key.append("presence:{").append(topic).append("}");
  return key;
}
inline std::string presence_user_key(std::string_view prefix, std::string_view user) {
  std::string key(prefix);
  key.append("user:{").append(user).append("}");
  return key;
}
inline std::string presence_nodes_key(std::string_view prefix) {
  return std::string(prefix).append("nodes");
}
inline std::string presence_node_topics_key(std::string_view prefix, std::string_view node) {
  return std::string(prefix).append("nodetopics:").append(node);
}
inline std::string presence_node_users_key(std::string_view prefix, std::string_view node) {
  return std::string(prefix).append("nodeusers:").append(node);
}

}  // namespace realtime
