#include "presence/redis_presence_store.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>

#include <algorithm>
#include <cstdlib>
#include <future>
#include <optional>

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

// The script's user changes (user, folded status, connections, time, ...).
std::vector<UserChange> user_changes_of(const redisReply& flat) {
  std::vector<UserChange> out;
  if (!reply_is_array(flat)) return out;
  for (std::size_t i = 0; i + 4 <= reply_size(flat); i += 4) {
    auto status = parse_presence_status(reply_string(reply_at(flat, i + 1)));
    if (!status) continue;
    out.push_back({std::string(reply_string(reply_at(flat, i))), *status,
                   std::atoi(std::string(reply_string(reply_at(flat, i + 2))).c_str()),
                   std::atoll(std::string(reply_string(reply_at(flat, i + 3))).c_str())});
  }
  return out;
}

}  // namespace

struct RedisPresenceStore::Reap {
  std::string node;
  bool self = false;
  int pending = 0;  // replies still due in the current step
  bool failed = false;
  std::function<void(bool)> done;
};

RedisPresenceStore::RedisPresenceStore(RedisBroker& broker, std::string node_id,
                                       int heartbeat_seconds, ChangeSink sink, UserSink user_sink)
    : broker_(broker),
      node_id_(std::move(node_id)),
      script_sha_(broker.add_script(redis_presence_script)),
      nodes_key_(presence_nodes_key(broker.prefix())),
      node_topics_key_(presence_node_topics_key(broker.prefix(), node_id_)),
      node_users_key_(presence_node_users_key(broker.prefix(), node_id_)),
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
  // Redis may have lost our entries (restart, failover) or others may have reaped us while we
  // were cut off.
  register_all();
}

void RedisPresenceStore::register_all() {
  if (leaving_) return;  // after bye read our sets, nothing may be added back
  // The node sets first: a reaper finds whatever the scripts below add.
  for (const auto& [user, count] : user_connections_) node_set("SADD", node_users_key_, user);
  for (const auto& [topic, count] : topic_connections_) node_set("SADD", node_topics_key_, topic);
  for (const auto& [conn, c] : connections_) {
    const std::string_view status = to_string(c.status);
    run(presence_user_key(broker_.prefix(), c.user_id), {"connect", c.user_id, conn, status});
    for (const auto& topic : c.topics) {
      run(presence_topic_key(broker_.prefix(), topic),
          {"join", node_id_, c.user_id, conn, status, topic});
    }
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
  if (leaving_ || !broker_.ready_for_key(nodes_key_)) return;
  const std::string ttl = std::to_string(alive_ttl_.count());
  eval(nodes_key_, {"alive", node_id_, ttl}, [this](const redisReply* reply) {
    if (reply == nullptr) return;
    if (reply_is_error(*reply)) {
      spdlog::warn("redis presence script failed: {}", reply_string(*reply));
      return;
    }
    if (!reply_is_array(*reply) || reply_size(*reply) == 0) return;
    if (register_at_next_alive_) {
      register_at_next_alive_ = false;
      register_all();
    }
    // A process's first alive always finds no deadline: its node id is new, so nobody can have
    // been reaping it, and on_commands_ready() registered everything already. Registering again
    // would repeat every connection's presence a few seconds after a (re)start, storms included.
    const bool first = !alive_answered_;
    alive_answered_ = true;
    const redisReply& lapsed = reply_at(*reply, 0);
    if (!first && reply_is_integer(lapsed) && reply_integer(lapsed) == 1) {
      spdlog::info(
          "redis presence: this node's deadline had lapsed; re-registering its {} connections at "
          "the next alive",
          connections_.size());
      register_at_next_alive_ = true;
    }
    for (std::size_t i = 1; i < reply_size(*reply); ++i) {
      std::string dead(reply_string(reply_at(*reply, i)));
      if (!reaping_.insert(dead).second) continue;  // already ours to finish
      reap_node(dead, false, [this, dead](bool) { reaping_.erase(dead); });
    }
  });
}

void RedisPresenceStore::eval(const std::string& key, std::vector<std::string_view> args,
                              RedisConnection::ReplyHandler handler, std::string_view node_set) {
  std::vector<std::string_view> argv{"EVALSHA", script_sha_};
  if (node_set.empty()) {
    argv.insert(argv.end(), {"1", key});
  } else {
    argv.insert(argv.end(), {"2", key, node_set});
  }
  argv.push_back(broker_.prefix());
  argv.insert(argv.end(), args.begin(), args.end());
  broker_.command_for_key(key, argv, std::move(handler));
}

void RedisPresenceStore::run(const std::string& key, std::vector<std::string_view> args,
                             std::function<void(bool)> done, std::string_view node_set) {
  if (!broker_.ready_for_key(key)) {
    if (done) done(false);
    return;
  }
  eval(
      key, std::move(args),
      [this, done = std::move(done)](const redisReply* reply) {
        const bool ran = reply != nullptr && !reply_is_error(*reply);
        if (reply != nullptr && !ran) {
          spdlog::warn("redis presence script failed: {}", reply_string(*reply));
        }
        if (ran) report(*reply);
        if (done) done(ran);
      },
      node_set);
}

void RedisPresenceStore::run_tracked(const std::string& key, std::vector<std::string_view> args,
                                     NodeSetChange change, const std::string& set_key,
                                     std::string_view member) {
  if (change == NodeSetChange::none) return run(key, std::move(args));
  if (!broker_.cluster()) return run(key, std::move(args), {}, set_key);
  // A reaper must find whatever a script added, and may visit a member left over: the set
  // grows before the entry and shrinks after it.
  if (change == NodeSetChange::add) node_set("SADD", set_key, member);
  run(key, std::move(args));
  if (change == NodeSetChange::remove) node_set("SREM", set_key, member);
}

void RedisPresenceStore::report(const redisReply& reply) {
  if (!reply_is_array(reply) || reply_size(reply) != 2) return;
  auto changes = topic_changes_of(reply_at(reply, 0));
  if (!changes.empty() && sink_) sink_(changes);
  if (user_sink_) {
    for (const auto& u : user_changes_of(reply_at(reply, 1))) user_sink_(u);
  }
}

void RedisPresenceStore::node_set(std::string_view command, const std::string& key,
                                  std::string_view member) {
  if (!broker_.ready_for_key(key)) return;  // register_all() after the reconnect adds it
  broker_.command_for_key(key, {command, key, member}, [](const redisReply* reply) {
    if (reply != nullptr && reply_is_error(*reply)) {
      spdlog::warn("redis presence node set: {}", reply_string(*reply));
    }
  });
}

void RedisPresenceStore::joined(const std::string& conn, const Connection& c,
                                std::string_view topic, bool first) {
  run_tracked(presence_topic_key(broker_.prefix(), topic),
              {"join", node_id_, c.user_id, conn, to_string(c.status), topic},
              first ? NodeSetChange::add : NodeSetChange::none, node_topics_key_, topic);
}

void RedisPresenceStore::left(const std::string& conn, const Connection& c,
                              std::string_view topic) {
  auto it = topic_connections_.find(topic);
  const bool last = it != topic_connections_.end() && --it->second <= 0;
  run_tracked(presence_topic_key(broker_.prefix(), topic),
              {"leave", node_id_, c.user_id, conn, topic},
              last ? NodeSetChange::remove : NodeSetChange::none, node_topics_key_, topic);
  if (last) topic_connections_.erase(it);  // `topic` dangles from here on
}

void RedisPresenceStore::connect(std::string_view connection_id, std::string_view user_id) {
  net::post(broker_.loop(), [this, conn = std::string(connection_id), user = std::string(user_id)] {
    auto [it, added] = connections_.try_emplace(conn);
    auto& c = it->second;
    bool first = false;
    if (added) {
      auto users = user_connections_.try_emplace(user, 0).first;
      c.user_id = users->first;
      first = ++users->second == 1;
    }
    run_tracked(presence_user_key(broker_.prefix(), c.user_id),
                {"connect", c.user_id, conn, to_string(c.status)},
                first ? NodeSetChange::add : NodeSetChange::none, node_users_key_, c.user_id);
  });
}

void RedisPresenceStore::set_status(std::string_view connection_id, PresenceStatus status) {
  net::post(broker_.loop(), [this, conn = std::string(connection_id), status] {
    auto it = connections_.find(conn);
    if (it == connections_.end() || it->second.status == status) return;
    const Connection& c = it->second;
    it->second.status = status;
    for (const auto& topic : c.topics) {
      run(presence_topic_key(broker_.prefix(), topic),
          {"status", node_id_, c.user_id, conn, to_string(status), topic});
    }
    run(presence_user_key(broker_.prefix(), c.user_id),
        {"userstatus", c.user_id, conn, to_string(status)});
  });
}

void RedisPresenceStore::join(std::string_view connection_id, std::string_view topic) {
  net::post(broker_.loop(), [this, conn = std::string(connection_id), t = std::string(topic)] {
    auto it = connections_.find(conn);
    if (it == connections_.end()) return;
    auto& topics = it->second.topics;
    if (std::find(topics.begin(), topics.end(), t) != topics.end()) return;
    auto entry = topic_connections_.try_emplace(t, 0).first;
    topics.push_back(entry->first);
    joined(conn, it->second, entry->first, ++entry->second == 1);
  });
}

void RedisPresenceStore::leave(std::string_view connection_id, std::string_view topic) {
  net::post(broker_.loop(), [this, conn = std::string(connection_id), t = std::string(topic)] {
    auto it = connections_.find(conn);
    if (it == connections_.end()) return;
    auto& topics = it->second.topics;
    auto found = std::find(topics.begin(), topics.end(), t);
    if (found == topics.end()) return;
    const std::string_view key = *found;
    *found = topics.back();
    topics.pop_back();
    left(conn, it->second, key);
  });
}

void RedisPresenceStore::disconnect(std::string_view connection_id) {
  net::post(broker_.loop(), [this, conn = std::string(connection_id)] {
    auto it = connections_.find(conn);
    if (it == connections_.end()) return;
    const Connection& c = it->second;
    for (const auto& topic : c.topics) left(conn, c, topic);
    auto users = user_connections_.find(c.user_id);
    const bool last = users != user_connections_.end() && --users->second <= 0;
    run_tracked(presence_user_key(broker_.prefix(), c.user_id), {"disconnect", c.user_id, conn},
                last ? NodeSetChange::remove : NodeSetChange::none, node_users_key_, c.user_id);
    if (last) user_connections_.erase(users);  // c.user_id dangles from here on
    connections_.erase(it);
  });
}

void RedisPresenceStore::reap_node(const std::string& node, bool self,
                                   std::function<void(bool)> done) {
  auto reap = std::make_shared<Reap>();
  reap->node = node;
  reap->self = self;
  reap->done = std::move(done);
  reap->pending = 2;  // the two SMEMBERS
  reap_members(reap, true);
  reap_members(reap, false);
}

void RedisPresenceStore::reap_members(const std::shared_ptr<Reap>& reap, bool topics) {
  const std::string set_key = topics ? presence_node_topics_key(broker_.prefix(), reap->node)
                                     : presence_node_users_key(broker_.prefix(), reap->node);
  if (!broker_.ready_for_key(set_key)) {
    reap->failed = true;
    return reap_step_done(reap);
  }
  broker_.command_for_key(
      set_key, {"SMEMBERS", set_key}, [this, reap, topics](const redisReply* reply) {
        if (reply == nullptr || !reply_is_array(*reply)) {
          reap->failed = true;
          return reap_step_done(reap);
        }
        // One script run per topic or user: each is atomic and idempotent, so another node
        // reaping the same node at the same time reports nothing twice.
        for (std::size_t i = 0; i < reply_size(*reply); ++i) {
          const std::string_view member = reply_string(reply_at(*reply, i));
          ++reap->pending;
          run(topics ? presence_topic_key(broker_.prefix(), member)
                     : presence_user_key(broker_.prefix(), member),
              {topics ? "reaptopic" : "reapuser", reap->node, member}, [this, reap](bool ran) {
                if (!ran) reap->failed = true;
                reap_step_done(reap);
              });
        }
        reap_step_done(reap);  // this reply's own share
      });
}

void RedisPresenceStore::reap_step_done(const std::shared_ptr<Reap>& reap) {
  if (--reap->pending > 0) return;
  if (reap->failed) return reap->done(false);  // the next alive that finds it dead retries
  forget_node(reap);
}

void RedisPresenceStore::forget_node(const std::shared_ptr<Reap>& reap) {
  // The deadline first, and only while it is still past: a node that came back meanwhile keeps
  // it and its sets (it registers again itself). Until the deadline is dropped, a failed reap
  // is retried by the next alive that finds it.
  if (!broker_.ready_for_key(nodes_key_)) return reap->done(false);
  auto dropped = [this, reap](const redisReply* reply) {
    if (reply == nullptr || !reply_is_integer(*reply)) return reap->done(false);
    if (reply_integer(*reply) == 0) return reap->done(true);  // it lives again
    const std::string topics_key = presence_node_topics_key(broker_.prefix(), reap->node);
    const std::string users_key = presence_node_users_key(broker_.prefix(), reap->node);
    for (const std::string* key : {&topics_key, &users_key}) {
      // A set left behind by a failed DEL is harmless: its entries are already reaped.
      if (broker_.ready_for_key(*key)) broker_.command_for_key(*key, {"DEL", *key}, {});
    }
    reap->done(true);
  };
  if (reap->self) {
    broker_.command_for_key(nodes_key_, {"ZREM", nodes_key_, reap->node}, dropped);
  } else {
    eval(nodes_key_, {"gone", reap->node}, dropped);
  }
}

void RedisPresenceStore::users_in(std::string_view topic, UsersCallback done) {
  net::post(broker_.loop(), [this, t = std::string(topic), done = std::move(done)]() mutable {
    const std::string key = presence_topic_key(broker_.prefix(), t);
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

void RedisPresenceStore::users_connected(std::vector<std::string> user_ids, UsersCallback done) {
  if (user_ids.empty()) return done({});
  net::post(broker_.loop(), [this, ids = std::move(user_ids), done = std::move(done)]() mutable {
    // Replies come back on this loop, one per user: gathered without a lock.
    struct Gather {
      std::vector<std::optional<UserPresence>> found;
      std::size_t left = 0;
      UsersCallback done;
    };
    auto gather = std::make_shared<Gather>();
    gather->found.resize(ids.size());
    gather->left = ids.size();
    gather->done = std::move(done);
    for (std::size_t i = 0; i < ids.size(); ++i) {
      const std::string key = presence_user_key(broker_.prefix(), ids[i]);
      broker_.command_for_key(
          key, {"HVALS", key}, [gather, i, id = ids[i]](const redisReply* reply) mutable {
            if (reply != nullptr && reply_is_array(*reply) && reply_size(*reply) > 0) {
              // Folded like the script's fold_hash: the highest status wins, an unknown one
              // counts as online.
              UserPresence u{
                  std::move(id), PresenceStatus::offline, static_cast<int>(reply_size(*reply)), {}};
              for (std::size_t v = 0; v < reply_size(*reply); ++v) {
                const auto status = parse_presence_status(reply_string(reply_at(*reply, v)));
                u.status = std::max(u.status, status.value_or(PresenceStatus::online));
              }
              gather->found[i] = std::move(u);
            }
            if (--gather->left > 0) return;
            std::vector<UserPresence> users;
            for (auto& f : gather->found) {
              if (f) users.push_back(std::move(*f));
            }
            gather->done(std::move(users));
          });
    }
  });
}

void RedisPresenceStore::leave_cluster(std::chrono::milliseconds timeout) {
  auto left = std::make_shared<std::promise<void>>();
  auto future = left->get_future();
  net::post(broker_.loop(), [this, left] {
    leaving_ = true;
    alive_timer_.cancel();
    // Reaped like a dead node, by ourselves: others report nothing for us.
    reap_node(node_id_, true, [left](bool) { left->set_value(); });
  });
  future.wait_for(timeout);
}

}  // namespace realtime
