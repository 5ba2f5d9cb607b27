#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "broker/broker.hpp"
#include "broker/local_topics.hpp"
#include "redis/cluster_slots.hpp"
#include "redis/redis_connection.hpp"
#include "redis/sentinel_watch.hpp"

namespace realtime {

class HistoryPolicy;

struct RedisBrokerOptions {
  RedisEndpoint endpoint;
  std::string prefix = "realtime:";
  std::string node_id;
  std::chrono::milliseconds probe_interval{1000};
  std::chrono::milliseconds probe_timeout{3000};
  std::shared_ptr<const HistoryPolicy> history;  // null: no topic keeps history
};

// The clustered engine. Every event goes through Redis, this node's own included: a node
// subscribes to `<prefix>topic:<topic>` while it has local subscribers of the topic, and delivers
// only what arrives on those channels. So every node sees one order per topic, and nothing is
// delivered twice.
//
// Runs its own thread and loop. Each Redis master is a shard with two connections: commands
// (pipelined publishes, scripts) and the subscriber. One Redis (or Sentinel's master) is one
// shard serving every topic with PUBLISH/SUBSCRIBE. With Redis Cluster each master serves the
// topics whose slot it owns, with SPUBLISH/SSUBSCRIBE on `<prefix>topic:{<topic>}` (the braces
// keep a topic's channel and history keys in one slot); the slot map comes from CLUSTER SLOTS,
// asked again on a timer and whenever a node answers MOVED, ASK or CLUSTERDOWN or drops a
// sharded subscription (a slot migrated: the topic is subscribed again on its new owner).
//
// A probe published through each shard to this node's own channel every second proves delivery
// still works; when it stops arriving the node is degraded and that shard reconnects. With
// Sentinel both connections follow the master the sentinels name (SentinelWatch), and a failover
// is a reconnect like any other.
class RedisBroker final : public Broker {
 public:
  RedisBroker(RedisBrokerOptions options, std::vector<DeliveryTarget*> targets);
  ~RedisBroker() override;

  void start();
  void stop();

  void publish(std::vector<PublishedEvent> events, PublishCallback done) override;
  void topic_added(std::string_view topic, std::size_t shard) override;
  void topic_removed(std::string_view topic, std::size_t shard) override;
  void when_live(std::string_view topic, std::function<void()> ready) override;
  // One Redis (or Sentinel's): a pattern covers every user's own topic, unless Redis refused it
  // (an ACL without the pattern): then connections subscribe their own topic instead.
  bool delivers_mailboxes() const override { return !cluster_ && !mailbox_pattern_refused_; }
  void mailboxes_changed(std::size_t shard, bool any) override;
  void send_command(const UserCommand& command) override;
  void set_command_handler(std::function<void(const UserCommand&)> handler) override {
    command_handler_ = std::move(handler);
  }
  bool healthy() const override { return healthy_; }
  std::string_view engine() const override { return "redis"; }
  std::optional<DependencyHealth> dependency() const override;
  std::size_t topic_count() const override { return topics_.size(); }
  void read_history(std::string_view topic, const HistoryLimits& limits, HistoryRequest request,
                    std::function<void(HistoryResult)> done) override;

  // For the other Redis-backed parts (presence, typing, tokens): use only on loop().
  boost::asio::io_context& loop() { return io_; }
  const std::string& prefix() const { return options_.prefix; }
  // Redis Cluster: a command's keys must share a slot. One Redis (or Sentinel's master): any keys.
  bool cluster() const { return cluster_; }
  // Sends `args` to the master that serves `key` (with Cluster its slot's owner, else the one
  // Redis). The handler gets nullptr when that connection is down; every key a command names
  // must hash to the slot of `key` (hash tags: "{topic}").
  void command_for_key(std::string_view key, const std::vector<std::string_view>& args,
                       RedisConnection::ReplyHandler handler);
  // Whether the connection command_for_key(key) would use is up.
  bool ready_for_key(std::string_view key) const;
  // A Lua script loaded on every master whenever a connection to it is made, before any other
  // command; returns its SHA1 for EVALSHA. Call before start().
  std::string add_script(std::string_view source);
  // Runs `f` on the loop whenever a command connection (re)connects: what a Redis may have lost
  // (a restart, a failover, a new shard) is written again.
  void on_commands_ready(std::function<void()> f) { commands_ready_.push_back(std::move(f)); }

 private:
  struct Shard;

  Shard& add_shard(const RedisAddress& address);
  Shard* shard_for_key(std::string_view key) const;
  Shard* shard_for_topic(std::string_view topic) const;
  std::string channel_of(std::string_view topic) const;
  // The topic of a topic channel; nullopt for any other channel.
  std::optional<std::string_view> topic_of(std::string_view channel) const;
  // <prefix>history:{<topic>} and its :meta hash (redis_history_script.hpp).
  std::string history_key_of(std::string_view topic) const;
  void load_scripts(Shard& shard);
  // A reply of a keyed command: a NOSCRIPT error (SCRIPT FLUSH) loads the scripts again, and a
  // redirection or CLUSTERDOWN asks for the slot map again.
  void check_reply(Shard& shard, const redisReply* reply);
  void publish_on(Shard& shard, std::vector<const PublishedEvent*>& events, std::int64_t ts,
                  RedisConnection::ReplyHandler done);
  void sync_topic(const std::string& topic);
  void forget_subscription(const std::string& topic);
  void on_commands_ready(Shard& shard);
  void on_subscriber_ready(Shard& shard);
  void on_subscriber_down(Shard& shard);
  void on_push(Shard& shard, const redisReply& push);
  void on_subscribe_refused(Shard& shard, std::string_view error);
  // `reach`: subscribers for a topic channel's message, mailboxes for the pattern's.
  void on_message(Shard& shard, std::string_view channel, std::string_view payload, Reach reach);
  void subscribe_mailbox_pattern();
  void on_control(std::string_view payload);
  void flush_deliveries();
  void schedule_probe();
  void on_probe_tick();
  // Recomputes healthy() from the shards (and, with Cluster, the slot map) and logs a change.
  void update_health(std::string_view why);

  // Redis Cluster's slot map.
  std::optional<RedisAddress> next_seed();
  void request_slots(std::string_view why);
  void ask_slots();
  void schedule_slots_refresh(std::chrono::steady_clock::time_point when);
  void apply_slots(const ClusterSlotMap& map);
  void choose_probe_channel(Shard& shard);

  RedisBrokerOptions options_;
  std::vector<DeliveryTarget*> targets_;
  const bool cluster_;
  // The commands and push kinds of this mode: sharded on Cluster.
  const std::string_view publish_command_;
  const std::string_view subscribe_command_;
  const std::string_view unsubscribe_command_;
  std::string topic_channel_prefix_;  // <prefix>topic:
  std::string events_channel_;        // <prefix>events
  std::string control_channel_;       // <prefix>control: user commands of the server API
  std::string mailbox_pattern_;       // <prefix>topic:user:* as a glob (one Redis only)
  // Set by this node's first mailbox. The pattern then stays: a node that had one will again,
  // and while it has none a message on it is dropped before it is decoded.
  std::atomic<bool> mailbox_pattern_wanted_{false};
  std::atomic<bool> mailbox_pattern_refused_{false};
  // Loop thread: sent on the control shard's subscriber, and not yet confirmed by Redis. Sent
  // again after a reconnect, it holds publishes back like the topics being resubscribed.
  bool mailbox_pattern_sent_ = false;
  bool mailbox_pattern_pending_ = false;
  bool mailbox_pattern_resubscribing_ = false;
  std::string history_publish_sha_;
  std::string history_read_sha_;
  std::function<void(const UserCommand&)> command_handler_;  // set before start()
  LocalTopics topics_;  // node-wide: which topics have local subscribers

  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::unique_ptr<SentinelWatch> sentinel_;  // redis+sentinel:// only
  boost::asio::steady_timer probe_timer_;
  std::thread thread_;

  // Loop-thread state. Shards are never destroyed (their connections' handlers point at them):
  // a master that leaves the cluster is stopped and kept, and used again if it comes back.
  std::vector<std::unique_ptr<Shard>> shards_;
  std::vector<Shard*> active_;      // the shards serving slots now (the one shard without Cluster)
  Shard* control_shard_ = nullptr;  // whose subscriber listens to the control channel
  // A topic's SUBSCRIBE: sent on that shard's connection, and whether Redis confirmed it. One
  // entry per topic with local subscribers: its size is part of every topic's cost.
  struct Subscription {
    Shard* shard = nullptr;
    bool confirmed = false;
  };
  std::unordered_map<std::string, Subscription> subscribed_;
  // Subscribes sent to that shard, confirmations due.
  std::unordered_map<std::string, std::pair<Shard*, int>> unconfirmed_;
  std::unordered_set<std::string> resubscribing_;  // after a reconnect or move, unconfirmed
  std::unordered_map<std::string, std::vector<std::function<void()>>> waiters_;
  std::shared_ptr<FrameBatch> pending_;  // messages of this loop turn, delivered together
  std::uint64_t malformed_ = 0;          // payloads skipped since the last log line
  std::chrono::steady_clock::time_point malformed_logged_at_;
  std::chrono::steady_clock::time_point refused_logged_at_;
  std::vector<std::function<void()>> commands_ready_;
  std::vector<std::string> scripts_;  // add_script(): loaded on every command connection

  // Redis Cluster only.
  std::unique_ptr<RedisConnection> topology_;  // asks CLUSTER SLOTS of a seed or known master
  std::size_t next_seed_ = 0;
  std::optional<ClusterSlotMap> slot_map_;
  std::vector<Shard*> slot_owner_;  // slot -> shard, nullptr when nobody serves it
  boost::asio::steady_timer slots_timer_;
  bool slots_asked_ = false;   // CLUSTER SLOTS in flight
  bool slots_wanted_ = false;  // asked for again while in flight or too soon
  std::chrono::steady_clock::time_point slots_asked_at_;

  std::atomic<bool> healthy_{false};
  bool ever_healthy_ = false;  // loop thread
  mutable std::mutex health_mutex_;
  DependencyHealth health_{"redis", false, std::nullopt, {}};  // under health_mutex_
};

}  // namespace realtime
