#pragma once

#include <boost/asio/steady_timer.hpp>

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "presence/presence_store.hpp"
#include "redis/redis_connection.hpp"

struct redisReply;

namespace realtime {

class RedisBroker;

// Presence shared by every node through Redis (layout and rules: redis_presence_script.hpp).
// Each script run touches one topic's or one user's keys, so it works on Redis Cluster too.
// This node keeps a mirror of its own connections: it keeps the node's topic and user sets
// from it, and after Redis comes back — or after other nodes reaped it while it was cut off —
// it re-registers them. Every operation runs on the broker's loop, in the order it was called
// per connection.
class RedisPresenceStore final : public PresenceStore {
 public:
  // `user_sink` hears every change of a user's connections or status cluster-wide (from the
  // node that caused it, or that reaped a dead node).
  RedisPresenceStore(RedisBroker& broker, std::string node_id, int heartbeat_seconds,
                     ChangeSink sink, UserSink user_sink = {});

  // Starts the liveness heartbeat (call once the broker runs).
  void start();
  // Removes this node's connections from Redis now, waiting at most `timeout`.
  void leave_cluster(std::chrono::milliseconds timeout);

  void connect(std::string_view connection_id, std::string_view user_id) override;
  void set_status(std::string_view connection_id, PresenceStatus status) override;
  void join(std::string_view connection_id, std::string_view topic) override;
  void leave(std::string_view connection_id, std::string_view topic) override;
  void disconnect(std::string_view connection_id) override;
  void users_in(std::string_view topic, UsersCallback done) override;
  // One HVALS of each user's connection hash (P user:{<user>}), folded here as the script does.
  void users_connected(std::vector<std::string> user_ids, UsersCallback done) override;

 private:
  // Memory per connection matters: each user id and topic is stored once, as the key of
  // user_connections_ / topic_connections_, and a connection holds views of those keys (an
  // entry outlives every connection counted in it).
  struct Connection {
    std::string_view user_id;  // user_connections_' key
    PresenceStatus status = PresenceStatus::online;
    std::vector<std::string_view> topics;  // topic_connections_' keys; a few per connection
  };

  struct Reap;  // a node's connections being removed (reap_node)

  // EVALSHA of the script with KEYS[1] = `key` (which routes it), KEYS[2] = `node_set` when not
  // empty, and `args` after the prefix.
  void eval(const std::string& key, std::vector<std::string_view> args,
            RedisConnection::ReplyHandler handler, std::string_view node_set = {});
  // eval() of a topic or user operation (with KEYS[2] = `node_set` if not empty), once `key`'s
  // connection is up; changes go to the sinks, then `done` (if any) learns whether the script ran.
  // Skipped (done(false)) while the connection serving `key` is down: the resync after its
  // reconnect covers it.
  void run(const std::string& key, std::vector<std::string_view> args,
           std::function<void(bool)> done = {}, std::string_view node_set = {});
  enum class NodeSetChange { none, add, remove };
  // run() of connect or join that also adds `member` to this node's set `set_key` (the user's
  // or topic's first connection here), or of leave or disconnect that removes it (its last):
  // inside the script on one Redis (one command, atomic); on Cluster, where the set is in
  // another slot, a SADD before the script or a SREM after it.
  void run_tracked(const std::string& key, std::vector<std::string_view> args, NodeSetChange change,
                   const std::string& set_key, std::string_view member);
  void report(const redisReply& reply);
  // SADD/SREM on this node's topic or user set, from the local mirror.
  void node_set(std::string_view command, const std::string& key, std::string_view member);
  // `first`: the topic's first connection on this node.
  void joined(const std::string& conn, const Connection& c, std::string_view topic, bool first);
  // `topic`: the view the connection held; it dies here with the topic's last local connection.
  void left(const std::string& conn, const Connection& c, std::string_view topic);
  // Registers every local connection again (idempotent: unchanged entries report nothing).
  void register_all();
  void on_commands_ready();
  void schedule_alive();
  void send_alive();
  // Removes `node`'s connections topic by topic and user by user, then its sets and its
  // deadline (`self`: unconditionally); done(true) once all of it succeeded.
  void reap_node(const std::string& node, bool self, std::function<void(bool)> done);
  void reap_members(const std::shared_ptr<Reap>& reap, bool topics);
  void reap_step_done(const std::shared_ptr<Reap>& reap);
  void forget_node(const std::shared_ptr<Reap>& reap);

  RedisBroker& broker_;
  std::string node_id_;
  std::string script_sha_;
  std::string nodes_key_;
  std::string node_topics_key_;  // this node's
  std::string node_users_key_;
  std::chrono::milliseconds alive_interval_;
  std::chrono::milliseconds alive_ttl_;
  ChangeSink sink_;
  UserSink user_sink_;
  boost::asio::steady_timer alive_timer_;
  // Loop thread only.
  StringMap<Connection> connections_;
  StringMap<int> topic_connections_;         // topic -> local connections in it
  StringMap<int> user_connections_;          // user -> local connections
  std::unordered_set<std::string> reaping_;  // dead nodes this node is reaping
  // Our deadline had lapsed: others may have been reaping us. Register again at the next alive,
  // after reaps in flight have finished.
  bool register_at_next_alive_ = false;
  bool alive_answered_ = false;  // an alive of this process has been answered
  bool leaving_ = false;         // leave_cluster() ran: no more alive, no re-registering
};

}  // namespace realtime
