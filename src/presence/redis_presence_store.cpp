#include "presence/redis_presence_store.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>

#include <algorithm>
#include <cstdlib>
#include <future>

#include "broker/redis_broker.hpp"
#include "presence/redis_presence_script.hpp"

namespace net = boost::asio;

namespace realtime {
namespace {

// The script's topic changes (user, topic, old, new, ...).
std::vector<PresenceChange> topic_changes_of(const redisReply& flat) {
  std::vector<PresenceChange> out;
  if (!reply_is_array(flat)) return out;
  for (std::size_t i = 0; i + 4 <= reply_size(flat); i += 4) {
    auto old_status = parse_presence_status(reply_string(reply_at(flat, i + 2)));
    auto new_status = parse_presence_status(reply_string(reply_at(flat, i + 3)));
    if (!old_status || !new_status) continue;
    out.push_back({std::string(reply_string(reply_at(flat, i))),
                   std::string(reply_string(reply_at(flat, i + 1))), *old_status, *new_status});
  }
  return out;
}

// The script's user changes (user, folded status, connections, ...).
std::vector<UserChange> user_changes_of(const redisReply& flat) {
  std::vector<UserChange> out;
  if (!reply_is_array(flat)) return out;
  for (std::size_t i = 0; i + 3 <= reply_size(flat); i += 3) {
    auto status = parse_presence_status(reply_string(reply_at(flat, i + 1)));
    if (!status) continue;
    out.push_back({std::string(reply_string(reply_at(flat, i))), *status,
                   std::atoi(std::string(reply_string(reply_at(flat, i + 2))).c_str())});
  }
  return out;
}

}  // namespace

RedisPresenceStore::RedisPresenceStore(RedisBroker& broker, std::string node_id,
                                       int heartbeat_seconds, ChangeSink sink, UserSink user_sink)
    : broker_(broker),
      node_id_(std::move(node_id)),
      script_sha_(broker.add_script(redis_presence_script)),
      // Alive four times per heartbeat; a node silent for 1.5 heartbeats (at least one more
      // second) is dead.
      alive_interval_(std::max<long long>(250, heartbeat_seconds * 250LL)),
      alive_ttl_(heartbeat_seconds * 1000LL + std::max<long long>(1000, heartbeat_seconds * 500LL)),
      sink_(std::move(sink)),
      user_sink_(std::move(user_sink)),
      alive_timer_(broker.loop()) {
  broker_.on_commands_ready([this] { on_commands_ready(); });
}

void RedisPresenceStore::start() {
  net::post(broker_.loop(), [this] { schedule_alive(); });
}

void RedisPresenceStore::on_commands_ready() {
  send_alive();
  // Redis may have lost our entries (restart) or others may have reaped us while we were cut
  // off: register every local connection again. Unchanged entries emit nothing.
  for (const auto& [conn, c] : connections_) {
    const std::string status(to_string(c.status));
    run({"connect", node_id_, c.user_id, conn, status});
    if (c.topics.empty()) continue;
    std::vector<std::string> args{"join", node_id_, c.user_id, conn, status};
    args.insert(args.end(), c.topics.begin(), c.topics.end());
    run(std::move(args));
  }
}

void RedisPresenceStore::schedule_alive() {
  alive_timer_.expires_after(alive_interval_);
  alive_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    send_alive();
    schedule_alive();
  });
}

void RedisPresenceStore::send_alive() {
  run({"alive", node_id_, std::to_string(alive_ttl_.count())});
}

void RedisPresenceStore::run(std::vector<std::string> args) {
  const std::string key = broker_.prefix() + "nodes";
  if (!broker_.ready_for_key(key)) return;  // the resync after the reconnect covers it
  std::vector<std::string_view> argv{"EVALSHA", script_sha_, "0", broker_.prefix()};
  for (const auto& a : args) argv.push_back(a);
  broker_.command_for_key(key, argv, [this](const redisReply* reply) {
    if (reply == nullptr) return;
    if (reply_is_error(*reply)) {
      spdlog::warn("redis presence script failed: {}", reply_string(*reply));
      return;
    }
    report(*reply);
  });
}

void RedisPresenceStore::report(const redisReply& reply) {
  if (!reply_is_array(reply) || reply_size(reply) != 2) return;
  auto changes = topic_changes_of(reply_at(reply, 0));
  if (!changes.empty() && sink_) sink_(changes);
  if (user_sink_) {
    for (const auto& u : user_changes_of(reply_at(reply, 1))) user_sink_(u);
  }
}

void RedisPresenceStore::connect(std::string_view connection_id, std::string_view user_id) {
  net::post(broker_.loop(), [this, conn = std::string(connection_id), user = std::string(user_id)] {
    auto& c = connections_[conn];
    c.user_id = user;
    run({"connect", node_id_, user, conn, std::string(to_string(c.status))});
  });
}

void RedisPresenceStore::set_status(std::string_view connection_id, PresenceStatus status) {
  net::post(broker_.loop(), [this, conn = std::string(connection_id), status] {
    auto it = connections_.find(conn);
    if (it == connections_.end() || it->second.status == status) return;
    it->second.status = status;
    std::vector<std::string> args{"status", node_id_, it->second.user_id, conn,
                                  std::string(to_string(status))};
    args.insert(args.end(), it->second.topics.begin(), it->second.topics.end());
    run(std::move(args));
  });
}

void RedisPresenceStore::join(std::string_view connection_id, std::string_view topic) {
  net::post(broker_.loop(), [this, conn = std::string(connection_id), t = std::string(topic)] {
    auto it = connections_.find(conn);
    if (it == connections_.end() || !it->second.topics.insert(t).second) return;
    run({"join", node_id_, it->second.user_id, conn, std::string(to_string(it->second.status)), t});
  });
}

void RedisPresenceStore::leave(std::string_view connection_id, std::string_view topic) {
  net::post(broker_.loop(), [this, conn = std::string(connection_id), t = std::string(topic)] {
    auto it = connections_.find(conn);
    if (it == connections_.end() || it->second.topics.erase(t) == 0) return;
    run({"leave", node_id_, it->second.user_id, conn, t});
  });
}

void RedisPresenceStore::disconnect(std::string_view connection_id) {
  net::post(broker_.loop(), [this, conn = std::string(connection_id)] {
    auto it = connections_.find(conn);
    if (it == connections_.end()) return;
    if (!it->second.topics.empty()) {
      std::vector<std::string> args{"leave", node_id_, it->second.user_id, conn};
      args.insert(args.end(), it->second.topics.begin(), it->second.topics.end());
      run(std::move(args));
    }
    run({"disconnect", node_id_, it->second.user_id, conn});
    connections_.erase(it);
  });
}

void RedisPresenceStore::users_in(std::string_view topic, UsersCallback done) {
  net::post(broker_.loop(), [this, t = std::string(topic), done = std::move(done)]() mutable {
    const std::string key = broker_.prefix() + "presence:" + t;
    broker_.command_for_key(
        key, {"HGETALL", key}, [done = std::move(done)](const redisReply* reply) {
          std::vector<UserPresence> users;
          if (reply != nullptr && reply_is_array(*reply)) {
            for (std::size_t i = 0; i + 1 < reply_size(*reply); i += 2) {
              const std::string_view value = reply_string(reply_at(*reply, i + 1));
              const auto colon = value.find(':');
              auto status = parse_presence_status(value.substr(0, colon));
              if (!status || colon == std::string_view::npos) continue;
              UserPresence u;
              u.user_id = std::string(reply_string(reply_at(*reply, i)));
              u.status = *status;
              u.connections = std::atoi(std::string(value.substr(colon + 1)).c_str());
              users.push_back(std::move(u));
            }
          }
          std::sort(users.begin(), users.end(),
                    [](const auto& a, const auto& b) { return a.user_id < b.user_id; });
          done(std::move(users));
        });
  });
}

void RedisPresenceStore::leave_cluster(std::chrono::milliseconds timeout) {
  auto left = std::make_shared<std::promise<void>>();
  auto future = left->get_future();
  net::post(broker_.loop(), [this, left] {
    alive_timer_.cancel();
    const std::string key = broker_.prefix() + "nodes";
    if (!broker_.ready_for_key(key)) return left->set_value();
    std::vector<std::string_view> argv{"EVALSHA",        script_sha_, "0",
                                       broker_.prefix(), "bye",       node_id_};
    broker_.command_for_key(key, argv, [this, left](const redisReply* reply) {
      if (reply != nullptr && !reply_is_error(*reply)) report(*reply);
      left->set_value();
    });
  });
  future.wait_for(timeout);
}

}  // namespace realtime
