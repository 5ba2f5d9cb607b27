#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <functional>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "broker/broker.hpp"
#include "broker/local_topics.hpp"
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
// SUBSCRIBEs `<prefix>topic:<topic>` while it has local subscribers of the topic, and delivers
// only what arrives on those channels. So every node sees one order per topic, and nothing is
// delivered twice.
//
// Runs its own thread and loop with two connections: commands (pipelined PUBLISHes, scripts) and
// the subscriber. A probe published to this node's own channel every second proves delivery
// still works; when it stops arriving the node is degraded and the subscriber reconnects.
// With Sentinel both connections follow the master the sentinels name (SentinelWatch), and a
// failover is a reconnect like any other.
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
  void send_command(const UserCommand& command) override;
  void set_command_handler(std::function<void(const UserCommand&)> handler) override {
    command_handler_ = std::move(handler);
  }
  bool healthy() const override { return commands_up_ && subscriber_up_ && probe_ok_; }
  std::string_view engine() const override { return "redis"; }
  std::optional<DependencyHealth> dependency() const override;
  std::size_t topic_count() const override { return topics_.size(); }
  void read_history(std::string_view topic, const HistoryLimits& limits, HistoryRequest request,
                    std::function<void(HistoryResult)> done) override;

  // For the other Redis-backed parts (presence, typing, tokens): use only on loop().
  boost::asio::io_context& loop() { return io_; }
  const std::string& prefix() const { return options_.prefix; }
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
  std::string channel_of(std::string_view topic) const;
  // <prefix>history:{<topic>} and its :meta hash (redis_history_script.hpp).
  std::string history_key_of(std::string_view topic) const;
  void load_scripts();
  // A script's reply: a NOSCRIPT error (SCRIPT FLUSH) loads them again.
  void check_script_reply(const redisReply* reply);
  void sync_topic(const std::string& topic);
  void on_subscriber_ready();
  void on_push(const redisReply& push);
  void on_message(std::string_view channel, std::string_view payload);
  void on_control(std::string_view payload);
  void flush_deliveries();
  void schedule_probe();
  void on_probe_tick();
  void set_health(std::atomic<bool>& flag, bool value, std::string_view what);

  RedisBrokerOptions options_;
  std::vector<DeliveryTarget*> targets_;
  std::string topic_channel_prefix_;  // <prefix>topic:
  std::string events_channel_;        // <prefix>events
  std::string probe_channel_;         // <prefix>probe:<node>
  std::string control_channel_;       // <prefix>control: user commands of the server API
  const std::string history_publish_sha_;
  const std::string history_read_sha_;
  std::function<void(const UserCommand&)> command_handler_;  // set before start()
  LocalTopics topics_;  // node-wide: which topics have local subscribers

  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::unique_ptr<SentinelWatch> sentinel_;  // redis+sentinel:// only
  RedisConnection commands_;
  RedisConnection subscriber_;
  boost::asio::steady_timer probe_timer_;
  std::thread thread_;

  // Loop-thread state.
  std::unordered_set<std::string> subscribed_;        // SUBSCRIBE sent on the current connection
  std::unordered_set<std::string> confirmed_;         // and Redis confirmed it
  std::unordered_map<std::string, int> unconfirmed_;  // SUBSCRIBEs sent, confirmations due
  std::unordered_set<std::string> resubscribing_;     // after a reconnect, not confirmed yet
  std::unordered_map<std::string, std::vector<std::function<void()>>> waiters_;
  std::shared_ptr<FrameBatch> pending_;  // messages of this loop turn, delivered together
  std::uint64_t probe_sent_ = 0;         // sequence of the last probe published
  std::uint64_t probe_seen_ = 0;         // and of the last one received
  std::chrono::steady_clock::time_point probe_sent_at_;
  std::uint64_t malformed_ = 0;  // payloads skipped since the last log line
  std::chrono::steady_clock::time_point malformed_logged_at_;
  std::vector<std::function<void()>> commands_ready_;
  std::vector<std::string> scripts_;  // add_script(): loaded on every command connection

  std::atomic<bool> commands_up_{false};
  std::atomic<bool> subscriber_up_{false};
  std::atomic<bool> probe_ok_{true};
  // PUBLISH of the last probe to its message coming back on the subscriber; -1 before the first.
  std::atomic<std::int64_t> probe_latency_us_{-1};
  bool ever_healthy_ = false;  // loop thread
};

}  // namespace realtime
