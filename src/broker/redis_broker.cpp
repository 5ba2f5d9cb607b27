#include "broker/redis_broker.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>

#include "broker/history.hpp"
#include "broker/redis_history_script.hpp"
#include "broker/redis_payload.hpp"
#include "protocol/frame.hpp"
#include "protocol/topic.hpp"
#include "server/lifecycle_events.hpp"
#include "util/clock.hpp"
#include "ws/frame_codec.hpp"

namespace net = boost::asio;

namespace realtime {
namespace {
// Topics per SUBSCRIBE when resubscribing everything after a reconnect.
constexpr std::size_t resubscribe_chunk = 500;
// Unsent commands above which publishes get 503.
constexpr std::size_t max_backlog_bytes = 64 * 1024 * 1024;

// The read script's {epoch, offset, first kept, {payload...}}; not ok when it failed.
HistoryResult parse_history_reply(const std::string& topic, const redisReply* reply) {
  HistoryResult out;
  if (reply == nullptr || reply_is_error(*reply) || reply_size(*reply) != 4) {
    if (reply != nullptr && reply_is_error(*reply)) {
      spdlog::warn("redis: history read of {} failed: {}", topic, reply_string(*reply));
    }
    return out;
  }
  out.epoch = std::string(reply_string(reply_at(*reply, 0)));
  out.offset = static_cast<std::uint64_t>(reply_integer(reply_at(*reply, 1)));
  out.first_kept = static_cast<std::uint64_t>(reply_integer(reply_at(*reply, 2)));
  const redisReply& payloads = reply_at(*reply, 3);
  out.events->reserve(reply_size(payloads));
  for (std::size_t i = 0; i < reply_size(payloads); ++i) {
    std::string error;
    auto message = decode_redis_payload(topic, reply_string(reply_at(payloads, i)), error);
    if (!message || message->offset == 0) {
      // Only our script writes the stream; a foreign entry is a gap the client must not miss.
      spdlog::warn("redis: history of {} holds a malformed entry: {}", topic, error);
      out.first_kept = out.offset + 1;
      out.events->clear();
      break;
    }
    out.events->push_back(make_topic_frame(message->event, message->ts_ms, message->offset));
  }
  out.ok = true;
  return out;
}
}  // namespace

RedisBroker::RedisBroker(RedisBrokerOptions options, std::vector<DeliveryTarget*> targets)
    : options_(std::move(options)),
      targets_(std::move(targets)),
      topic_channel_prefix_(options_.prefix + "topic:"),
      events_channel_(options_.prefix + "events"),
      probe_channel_(options_.prefix + "probe:" + options_.node_id),
      control_channel_(options_.prefix + "control"),
      history_publish_sha_(script_sha1(redis_history_publish_script)),
      history_read_sha_(script_sha1(redis_history_read_script)),
      work_(net::make_work_guard(io_)),
      commands_(io_, options_.endpoint, "commands"),
      subscriber_(io_, options_.endpoint, "subscriber"),
      probe_timer_(io_) {
  if (options_.history && options_.history->any()) {
    add_script(redis_history_publish_script);
    add_script(redis_history_read_script);
  }
  if (options_.endpoint.uses_sentinel()) {
    sentinel_ = std::make_unique<SentinelWatch>(io_, options_.endpoint);
    for (RedisConnection* c : {&commands_, &subscriber_}) {
      c->follow_master([this] { return sentinel_->master(); },
                       [this](std::string_view why) { sentinel_->refresh(why); });
    }
    sentinel_->on_master([this](const RedisAddress& master) {
      commands_.master_moved(master);
      subscriber_.master_moved(master);
    });
  }
  commands_.on_ready([this] {
    load_scripts();
    set_health(commands_up_, true, "commands");
    for (auto& f : commands_ready_) f();
  });
  commands_.on_down([this] { set_health(commands_up_, false, "commands"); });
  subscriber_.on_push([this](const redisReply& push) { on_push(push); });
  subscriber_.on_ready([this] { on_subscriber_ready(); });
  subscriber_.on_down([this] {
    subscribed_.clear();
    confirmed_.clear();
    unconfirmed_.clear();
    resubscribing_.clear();
    set_health(subscriber_up_, false, "subscriber");
  });
}

RedisBroker::~RedisBroker() { stop(); }

void RedisBroker::start() {
  net::post(io_, [this] {
    if (sentinel_) sentinel_->start();
    commands_.start();
    subscriber_.start();
    schedule_probe();
  });
  thread_ = std::thread([this] {
    try {
      io_.run();
    } catch (const std::exception& e) {
      spdlog::critical("redis loop stopped by an exception: {}", e.what());
      std::abort();
    }
  });
}

void RedisBroker::stop() {
  if (!thread_.joinable()) return;
  net::post(io_, [this] {
    probe_timer_.cancel();
    if (sentinel_) sentinel_->stop();
    commands_.stop();
    subscriber_.stop();
  });
  work_.reset();
  io_.stop();
  thread_.join();
}

std::string RedisBroker::history_key_of(std::string_view topic) const {
  std::string key;
  key.reserve(options_.prefix.size() + topic.size() + 10);
  key.append(options_.prefix).append("history:{").append(topic).append("}");
  return key;
}

void RedisBroker::load_scripts() {
  // First on a fresh connection: every EVALSHA pipelined after it finds the scripts.
  for (const std::string& script : scripts_) {
    commands_.command({"SCRIPT", "LOAD", script}, [](const redisReply* reply) {
      if (reply != nullptr && reply_is_error(*reply)) {
        spdlog::error("redis: cannot load a script: {}", reply_string(*reply));
      }
    });
  }
}

void RedisBroker::check_script_reply(const redisReply* reply) {
  if (reply != nullptr && reply_is_error(*reply) && reply_string(*reply).starts_with("NOSCRIPT")) {
    spdlog::warn("redis: the history scripts were flushed; loading them again");
    load_scripts();
  }
}

void RedisBroker::command_for_key(std::string_view /*key*/,
                                  const std::vector<std::string_view>& args,
                                  RedisConnection::ReplyHandler handler) {
  commands_.command(args, std::move(handler));
}

bool RedisBroker::ready_for_key(std::string_view /*key*/) const { return commands_.ready(); }

std::string RedisBroker::add_script(std::string_view source) {
  scripts_.emplace_back(source);
  return script_sha1(source);
}

std::string RedisBroker::channel_of(std::string_view topic) const {
  std::string channel;
  channel.reserve(topic_channel_prefix_.size() + topic.size());
  channel.append(topic_channel_prefix_).append(topic);
  return channel;
}

void RedisBroker::set_health(std::atomic<bool>& flag, bool value, std::string_view what) {
  const bool was_healthy = healthy();
  flag = value;
  const bool now_healthy = healthy();
  if (was_healthy && !now_healthy) {
    spdlog::warn("redis engine degraded ({}): publishes get 503 until it recovers", what);
  } else if (!was_healthy && now_healthy) {
    spdlog::info(ever_healthy_ ? "redis engine healthy again" : "redis engine ready");
    ever_healthy_ = true;
  }
}

void RedisBroker::publish(std::vector<PublishedEvent> events, PublishCallback done) {
  net::post(io_, [this, events = std::move(events), done = std::move(done)]() mutable {
    // A Redis that stops reading must not grow our memory without bound: refuse instead. And
    // refuse while this node could not deliver to its own subscribers (a connection down, the
    // probe lost, topics not yet resubscribed after a reconnect): a 202 would reach nobody here.
    const bool accepting = healthy() && resubscribing_.empty() && commands_.ready() &&
                           commands_.backlog_bytes() < max_backlog_bytes;
    if (!accepting || events.empty()) {
      if (done) done(accepting ? PublishStatus::ok : PublishStatus::unavailable);
      return;
    }
    const std::int64_t ts = unix_millis();
    const bool history = options_.history && options_.history->any();
    // One PUBLISH per event without history, and one script for every event with: all in this
    // loop turn's single write. Only the last command carries the callback: replies come in
    // order, and a connection lost before it fails it.
    std::vector<std::string> script;  // keys, then arguments (redis_history_script.hpp)
    std::vector<std::string> script_args;
    for (std::size_t i = 0; i < events.size(); ++i) {
      const PublishedEvent& e = events[i];
      std::string payload = encode_redis_payload(e, ts);
      std::string channel = channel_of(e.topic);
      if (e.topic == events_topic) {
        const std::string backend = backend_event_json(e.event, e.data, ts, options_.node_id);
        commands_.command({"PUBLISH", events_channel_, backend}, nullptr);
      }
      std::optional<HistoryLimits> limits;
      if (history && is_storable(e)) limits = options_.history->limits_for(e.topic);
      if (limits) {
        std::string key = history_key_of(e.topic);
        script.push_back(key);
        script.push_back(key + ":meta");
        script_args.push_back(std::move(channel));
        script_args.push_back(std::move(payload));
        script_args.push_back(std::to_string(limits->size));
        script_args.push_back(std::to_string(limits->ttl.count()));
        script_args.push_back(std::to_string(std::max(limits->ttl, history_meta_ttl).count()));
        continue;
      }
      RedisConnection::ReplyHandler handler;
      if (i + 1 == events.size() && script.empty() && done) {
        handler = [done = std::move(done)](const redisReply* reply) {
          const bool ok = reply != nullptr && !reply_is_error(*reply);
          done(ok ? PublishStatus::ok : PublishStatus::unavailable);
        };
      }
      commands_.command({"PUBLISH", channel, payload}, std::move(handler));
    }
    if (script.empty()) return;
    const std::string key_count = std::to_string(script.size());
    const std::string epoch = new_epoch();
    std::vector<std::string_view> argv{"EVALSHA", history_publish_sha_, key_count};
    argv.insert(argv.end(), script.begin(), script.end());
    argv.push_back(epoch);
    argv.insert(argv.end(), script_args.begin(), script_args.end());
    commands_.command(argv, [this, done = std::move(done)](const redisReply* reply) {
      check_script_reply(reply);
      const bool ok = reply != nullptr && !reply_is_error(*reply);
      if (!ok && reply != nullptr) {
        spdlog::warn("redis: the history publish script failed: {}", reply_string(*reply));
      }
      if (done) done(ok ? PublishStatus::ok : PublishStatus::unavailable);
    });
  });
}

void RedisBroker::read_history(std::string_view topic, const HistoryLimits& limits,
                               HistoryRequest request, std::function<void(HistoryResult)> done) {
  net::post(
      io_, [this, topic = std::string(topic), limits, request, done = std::move(done)]() mutable {
        if (!commands_.ready()) return done(HistoryResult{});
        const std::string key = history_key_of(topic);
        const std::string meta = key + ":meta";
        const std::string since = std::to_string(request.since);
        const std::string limit = std::to_string(request.limit);
        const std::string size = std::to_string(limits.size);
        const std::string ttl = std::to_string(limits.ttl.count());
        const std::string meta_ttl = std::to_string(std::max(limits.ttl, history_meta_ttl).count());
        const std::string epoch = new_epoch();
        commands_.command({"EVALSHA", history_read_sha_, "2", key, meta, since, limit, size, ttl,
                           epoch, meta_ttl},
                          [this, topic, done = std::move(done)](const redisReply* reply) {
                            check_script_reply(reply);
                            done(parse_history_reply(topic, reply));
                          });
      });
}

void RedisBroker::send_command(const UserCommand& command) {
  net::post(io_, [this, payload = encode_user_command(command, options_.node_id)] {
    // Like any publish: lost while Redis is down (the caller already applied it here).
    if (commands_.ready()) commands_.command({"PUBLISH", control_channel_, payload}, nullptr);
  });
}

void RedisBroker::topic_added(std::string_view topic, std::size_t shard) {
  if (topics_.add(topic, shard)) net::post(io_, [this, t = std::string(topic)] { sync_topic(t); });
}

void RedisBroker::topic_removed(std::string_view topic, std::size_t shard) {
  if (topics_.remove(topic, shard))
    net::post(io_, [this, t = std::string(topic)] { sync_topic(t); });
}

void RedisBroker::when_live(std::string_view topic, std::function<void()> ready) {
  net::post(io_, [this, t = std::string(topic), ready = std::move(ready)]() mutable {
    if (confirmed_.contains(t)) return ready();
    if (!topics_.contains(t)) return;  // the subscriber already left again
    // Not confirmed yet: SUBSCRIBE is on its way, or Redis is down and the resubscription
    // after the reconnect will confirm it.
    waiters_[t].push_back(std::move(ready));
    sync_topic(t);
  });
}

void RedisBroker::sync_topic(const std::string& topic) {
  // Decided from the current state, not from the order of the posts: adds and removes from
  // different shards may arrive here in any order.
  const bool wanted = topics_.contains(topic);
  const bool subscribed = subscribed_.contains(topic);
  if (wanted && !subscribed) {
    if (subscriber_.push_command({"SUBSCRIBE", channel_of(topic)})) {
      subscribed_.insert(topic);
      ++unconfirmed_[topic];
    }
  } else if (!wanted && subscribed) {
    subscriber_.push_command({"UNSUBSCRIBE", channel_of(topic)});
    subscribed_.erase(topic);
    confirmed_.erase(topic);
    resubscribing_.erase(topic);
    waiters_.erase(topic);  // their sessions left
  }
}

void RedisBroker::on_subscriber_ready() {
  subscribed_.clear();
  confirmed_.clear();
  unconfirmed_.clear();
  resubscribing_.clear();
  probe_seen_ = probe_sent_;  // the probe clock restarts with the connection
  probe_sent_at_ = std::chrono::steady_clock::now();
  subscriber_.push_command({"SUBSCRIBE", probe_channel_, control_channel_});
  const auto topics = topics_.snapshot();
  for (std::size_t i = 0; i < topics.size(); i += resubscribe_chunk) {
    std::vector<std::string> channels;
    std::vector<std::string_view> args{"SUBSCRIBE"};
    for (std::size_t j = i; j < std::min(topics.size(), i + resubscribe_chunk); ++j) {
      channels.push_back(channel_of(topics[j]));
      subscribed_.insert(topics[j]);
      resubscribing_.insert(topics[j]);
      ++unconfirmed_[topics[j]];
    }
    for (const auto& c : channels) args.push_back(c);
    subscriber_.push_command(args);
  }
  if (!topics.empty()) spdlog::info("redis: resubscribed {} topics", topics.size());
  set_health(subscriber_up_, true, "subscriber");
}

void RedisBroker::on_push(const redisReply& push) {
  const std::string_view kind = reply_string(reply_at(push, 0));
  const std::string_view channel = reply_string(reply_at(push, 1));
  if (kind == "message" && reply_size(push) >= 3) {
    return on_message(channel, reply_string(reply_at(push, 2)));
  }
  if (kind == "subscribe") {
    if (channel == probe_channel_) {
      set_health(probe_ok_, true, "probe");
      return;
    }
    if (!channel.starts_with(topic_channel_prefix_)) return;
    std::string topic(channel.substr(topic_channel_prefix_.size()));
    // After SUBSCRIBE, UNSUBSCRIBE, SUBSCRIBE the first confirmation is not the one that counts.
    auto pending = unconfirmed_.find(topic);
    if (pending != unconfirmed_.end() && --pending->second > 0) return;
    if (pending != unconfirmed_.end()) unconfirmed_.erase(pending);
    if (!subscribed_.contains(topic)) return;  // unsubscribed meanwhile
    confirmed_.insert(topic);
    resubscribing_.erase(topic);
    if (auto it = waiters_.find(topic); it != waiters_.end()) {
      auto ready = std::move(it->second);
      waiters_.erase(it);
      for (auto& r : ready) r();
    }
  }
}

std::optional<DependencyHealth> RedisBroker::dependency() const {
  DependencyHealth out{"redis", healthy(), std::nullopt};
  if (const std::int64_t us = probe_latency_us_.load(std::memory_order_relaxed);
      out.up && us >= 0) {
    out.latency = std::chrono::microseconds(us);
  }
  return out;
}

void RedisBroker::on_message(std::string_view channel, std::string_view payload) {
  if (channel == probe_channel_) {
    if (probe_seen_ != probe_sent_ && payload == std::to_string(probe_sent_)) {
      probe_latency_us_ = std::chrono::duration_cast<std::chrono::microseconds>(
                              std::chrono::steady_clock::now() - probe_sent_at_)
                              .count();
    }
    probe_seen_ = probe_sent_;
    set_health(probe_ok_, true, "probe");
    return;
  }
  if (channel == control_channel_) return on_control(payload);
  if (!channel.starts_with(topic_channel_prefix_)) return;
  const std::string_view topic = channel.substr(topic_channel_prefix_.size());
  std::string error;
  auto message = decode_redis_payload(topic, payload, error);
  if (!message) {
    // Anyone can PUBLISH into Redis: count, and say so at most every 10 seconds.
    ++malformed_;
    const auto now = std::chrono::steady_clock::now();
    if (now - malformed_logged_at_ > std::chrono::seconds(10)) {
      spdlog::warn("redis: skipped {} malformed message(s) on {}; latest: {}", malformed_, channel,
                   error);
      malformed_ = 0;
      malformed_logged_at_ = now;
    }
    return;
  }
  if (!pending_) {
    pending_ = std::make_shared<FrameBatch>();
    // Posted: every message of this read joins one batch, one hand-off per shard.
    net::post(io_, [this] { flush_deliveries(); });
  }
  const std::int64_t ts = message->ts_ms != 0 ? message->ts_ms : unix_millis();
  pending_->push_back(make_topic_frame(message->event, ts, message->offset));
}

void RedisBroker::on_control(std::string_view payload) {
  std::string node;
  std::string error;
  auto command = decode_user_command(payload, node, error);
  if (!command) {
    spdlog::warn("redis: skipped a malformed command on {}: {}", control_channel_, error);
    return;
  }
  if (node == options_.node_id || !command_handler_) return;  // ours: applied when sent
  command_handler_(*command);
}

void RedisBroker::flush_deliveries() {
  std::shared_ptr<FrameBatch> batch = std::move(pending_);
  pending_.reset();
  if (!batch) return;
  // Only shards with subscribers are woken; a topic unsubscribed meanwhile loses its events.
  const ShardSet shards =
      topics_.keep_present(*batch, [](const TopicFrame& f) -> std::string_view { return f.topic; });
  if (batch->empty()) return;
  std::shared_ptr<const FrameBatch> shared = std::move(batch);
  for (std::size_t i = 0; i < targets_.size(); ++i) {
    if (shards.test(i)) targets_[i]->deliver(shared);
  }
}

void RedisBroker::schedule_probe() {
  probe_timer_.expires_after(options_.probe_interval);
  probe_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    on_probe_tick();
    schedule_probe();
  });
}

void RedisBroker::on_probe_tick() {
  if (!commands_.ready() || !subscriber_.ready()) return;
  const auto now = std::chrono::steady_clock::now();
  if (probe_seen_ != probe_sent_ && now - probe_sent_at_ > options_.probe_timeout) {
    // Connected but deaf (e.g. after a failover), on either connection: reconnecting both
    // resubscribes everything and fails the publishes stuck behind a deaf one.
    set_health(probe_ok_, false, "probe not delivered");
    subscriber_.restart("the delivery probe did not come back");
    commands_.restart("the delivery probe did not come back");
    return;
  }
  if (sentinel_) commands_.check_role();
  if (probe_seen_ == probe_sent_) {
    ++probe_sent_;
    probe_sent_at_ = now;
    commands_.command({"PUBLISH", probe_channel_, std::to_string(probe_sent_)}, nullptr);
  }
}

}  // namespace realtime
