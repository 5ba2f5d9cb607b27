#pragma once

#include <boost/asio/steady_timer.hpp>

#include <string>
#include <unordered_map>
#include <unordered_set>

#include "presence/presence_store.hpp"

struct redisReply;

namespace realtime {

class RedisBroker;

// Presence shared by every node through Redis (layout and rules: redis_presence_script.hpp).
// This node keeps a mirror of its own connections, so after Redis comes back — or after other
// nodes reaped it while it was cut off — it re-registers them. Every operation runs on the
// broker's loop, in the order it was called per connection.
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

 private:
  struct Connection {
    std::string user_id;
    PresenceStatus status = PresenceStatus::online;
    std::unordered_set<std::string> topics;
  };

  // EVALSHA of the script with `args` after the prefix; changes go to the sinks.
  void run(std::vector<std::string> args);
  void report(const redisReply& reply);
  void on_commands_ready();
  void schedule_alive();
  void send_alive();

  RedisBroker& broker_;
  std::string node_id_;
  std::string script_sha_;
  std::chrono::milliseconds alive_interval_;
  std::chrono::milliseconds alive_ttl_;
  ChangeSink sink_;
  UserSink user_sink_;
  boost::asio::steady_timer alive_timer_;
  std::unordered_map<std::string, Connection> connections_;  // loop thread only
};

}  // namespace realtime
