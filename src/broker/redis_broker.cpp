#include "broker/redis_broker.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>

#include <algorithm>

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
// Topics per SUBSCRIBE when resubscribing everything after a reconnect (one Redis: on Cluster
// every SSUBSCRIBE names one topic, as its channels must share a slot).
constexpr std::size_t resubscribe_chunk = 500;
// Unsent commands above which publishes get 503.
constexpr std::size_t max_backlog_bytes = 64 * 1024 * 1024;
// Redis Cluster: the slot map is asked for again this often, and at most this often on demand.
constexpr auto slots_refresh_interval = std::chrono::seconds(5);
constexpr auto slots_min_interval = std::chrono::milliseconds(250);
constexpr auto refusal_log_interval = std::chrono::seconds(10);

// `text` matched literally by a PSUBSCRIBE glob (the prefix is configurable).
std::string glob_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

bool is_redirect_or_down(std::string_view error) {
  return parse_cluster_redirect(error).has_value() || is_cluster_down(error) || is_try_again(error);
}

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

struct RedisBroker::Shard {
  Shard(net::io_context& io, const RedisEndpoint& endpoint, RedisAddress where)
      : address(std::move(where)),
        commands(io, endpoint, "commands"),
        subscriber(io, endpoint, "subscriber") {}

  RedisAddress address;  // the master's (with Cluster)
  RedisConnection commands;
  RedisConnection subscriber;
  bool active = false;  // serves slots now; its connections run
  bool commands_up = false;
  bool subscriber_up = false;
  bool probe_ok = true;
  std::size_t slots = 0;
  std::string probe_channel;     // <prefix>probe:<node>, on Cluster with a tag of one of its slots
  std::uint64_t probe_sent = 0;  // sequence of the last probe published
  std::uint64_t probe_seen = 0;  // and of the last one received
  std::chrono::steady_clock::time_point probe_sent_at;
  // PUBLISH of the last probe to its message coming back; -1 before the first.
  std::int64_t probe_latency_us = -1;
  // Cluster: SUNSUBSCRIBEs sent, their confirmations due; any other sunsubscribe is Redis
  // dropping the subscription because the slot moved.
  std::unordered_map<std::string, int> unsubscribing;
};

RedisBroker::RedisBroker(RedisBrokerOptions options, std::vector<DeliveryTarget*> targets)
    : options_(std::move(options)),
      targets_(std::move(targets)),
      cluster_(options_.endpoint.uses_cluster()),
      publish_command_(cluster_ ? "SPUBLISH" : "PUBLISH"),
      subscribe_command_(cluster_ ? "SSUBSCRIBE" : "SUBSCRIBE"),
      unsubscribe_command_(cluster_ ? "SUNSUBSCRIBE" : "UNSUBSCRIBE"),
      topic_channel_prefix_(options_.prefix + "topic:"),
      events_channel_(options_.prefix + "events"),
      control_channel_(options_.prefix + "control"),
      mailbox_pattern_(glob_escape(topic_channel_prefix_ + std::string(user_topic_prefix)) + "*"),
      work_(net::make_work_guard(io_)),
      probe_timer_(io_),
      slots_timer_(io_) {
  if (options_.history && options_.history->any()) {
    history_publish_sha_ = add_script(redis_history_publish_script);
    history_read_sha_ = add_script(redis_history_read_script);
  }
  if (cluster_) {
    // The shards come from the slot map.
    slot_owner_.assign(cluster_slot_count, nullptr);
    topology_ = std::make_unique<RedisConnection>(io_, options_.endpoint, "cluster map");
    topology_->follow_address([this] { return next_seed(); });
    topology_->on_ready([this] { ask_slots(); });
    return;
  }
  Shard& shard = add_shard(RedisAddress{options_.endpoint.host, options_.endpoint.port});
  shard.active = true;
  shard.probe_channel = options_.prefix + "probe:" + options_.node_id;
  active_.push_back(&shard);
  control_shard_ = &shard;
  if (options_.endpoint.uses_sentinel()) {
    sentinel_ = std::make_unique<SentinelWatch>(io_, options_.endpoint);
    for (RedisConnection* c : {&shard.commands, &shard.subscriber}) {
      c->follow_master([this] { return sentinel_->master(); },
                       [this](std::string_view why) { sentinel_->refresh(why); });
    }
    sentinel_->on_master([&shard](const RedisAddress& master) {
      shard.commands.master_moved(master);
      shard.subscriber.master_moved(master);
    });
  }
}

RedisBroker::~RedisBroker() { stop(); }

RedisBroker::Shard& RedisBroker::add_shard(const RedisAddress& address) {
  auto owned = std::make_unique<Shard>(io_, options_.endpoint, address);
  Shard* shard = owned.get();
  if (cluster_) {
    // A master that became a replica (a failover we have not heard of) is the map's news.
    for (RedisConnection* c : {&shard->commands, &shard->subscriber}) {
      c->follow_master([shard] { return std::optional<RedisAddress>(shard->address); },
                       [this](std::string_view why) { request_slots(why); });
    }
  }
  shard->commands.on_ready([this, shard] { on_commands_ready(*shard); });
  shard->commands.on_down([this, shard] {
    shard->commands_up = false;
    update_health("commands");
    request_slots("a master's connection dropped");
  });
  shard->subscriber.on_push([this, shard](const redisReply& push) { on_push(*shard, push); });
  shard->subscriber.on_ready([this, shard] { on_subscriber_ready(*shard); });
  shard->subscriber.on_down([this, shard] { on_subscriber_down(*shard); });
  shards_.push_back(std::move(owned));
  return *shard;
}

void RedisBroker::start() {
  net::post(io_, [this] {
    if (sentinel_) sentinel_->start();
    if (topology_) topology_->start();
    for (Shard* shard : active_) {
      shard->commands.start();
      shard->subscriber.start();
    }
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
    slots_timer_.cancel();
    if (sentinel_) sentinel_->stop();
    if (topology_) topology_->stop();
    for (auto& shard : shards_) {
      shard->commands.stop();
      shard->subscriber.stop();
    }
  });
  work_.reset();
  io_.stop();
  thread_.join();
}

RedisBroker::Shard* RedisBroker::shard_for_key(std::string_view key) const {
  if (!cluster_) return active_.front();
  return slot_owner_[key_slot(key)];
}

RedisBroker::Shard* RedisBroker::shard_for_topic(std::string_view topic) const {
  // Topics hold no braces: "{topic}" in the channel and history keys hashes as the topic does.
  if (!cluster_) return active_.front();
  return slot_owner_[key_slot(topic)];
}

void RedisBroker::command_for_key(std::string_view key, const std::vector<std::string_view>& args,
                                  RedisConnection::ReplyHandler handler) {
  Shard* shard = shard_for_key(key);
  if (shard == nullptr) {
    if (handler) net::post(io_, [handler = std::move(handler)] { handler(nullptr); });
    return;
  }
  shard->commands.command(args, [this, shard, handler = std::move(handler)](const redisReply* r) {
    check_reply(*shard, r);
    if (handler) handler(r);
  });
}

bool RedisBroker::ready_for_key(std::string_view key) const {
  const Shard* shard = shard_for_key(key);
  return shard != nullptr && shard->commands.ready();
}

std::string RedisBroker::add_script(std::string_view source) {
  scripts_.emplace_back(source);
  return script_sha1(source);
}

std::string RedisBroker::history_key_of(std::string_view topic) const {
  std::string key;
  key.reserve(options_.prefix.size() + topic.size() + 10);
  key.append(options_.prefix).append("history:{").append(topic).append("}");
  return key;
}

void RedisBroker::load_scripts(Shard& shard) {
  // First on a fresh connection: every EVALSHA pipelined after it finds the scripts.
  for (const std::string& script : scripts_) {
    shard.commands.command({"SCRIPT", "LOAD", script}, [](const redisReply* reply) {
      if (reply != nullptr && reply_is_error(*reply)) {
        spdlog::error("redis: cannot load a script: {}", reply_string(*reply));
      }
    });
  }
}

void RedisBroker::check_reply(Shard& shard, const redisReply* reply) {
  if (reply == nullptr || !reply_is_error(*reply)) return;
  const std::string_view error = reply_string(*reply);
  if (error.starts_with("NOSCRIPT")) {
    spdlog::warn("redis: the scripts were flushed on {}; loading them again",
                 shard.address.display());
    load_scripts(shard);
  } else if (cluster_ && is_redirect_or_down(error)) {
    request_slots(error);
  }
}

std::string RedisBroker::channel_of(std::string_view topic) const {
  // One Redis: the backends' channel carries the lifecycle events to the nodes too, so they
  // are published once (publish_on). On Cluster that channel is a plain PUBLISH to every
  // master, and the topic keeps a sharded channel of its own.
  if (!cluster_ && topic == events_topic) return events_channel_;
  std::string channel;
  channel.reserve(topic_channel_prefix_.size() + topic.size() + 2);
  channel.append(topic_channel_prefix_);
  if (cluster_) return channel.append("{").append(topic).append("}");
  return channel.append(topic);
}

std::optional<std::string_view> RedisBroker::topic_of(std::string_view channel) const {
  if (!cluster_ && channel == events_channel_) return events_topic;
  if (!channel.starts_with(topic_channel_prefix_)) return std::nullopt;
  std::string_view topic = channel.substr(topic_channel_prefix_.size());
  if (!cluster_) return topic;
  if (topic.size() < 2 || topic.front() != '{' || topic.back() != '}') return std::nullopt;
  return topic.substr(1, topic.size() - 2);
}

void RedisBroker::update_health(std::string_view why) {
  bool up = !active_.empty();
  std::int64_t slowest = -1;
  for (const Shard* shard : active_) {
    up = up && shard->commands_up && shard->subscriber_up && shard->probe_ok;
    slowest = std::max(slowest, shard->probe_latency_us);
  }
  if (cluster_) up = up && slot_map_ && slot_map_->covers_all_slots();
  const bool was = healthy_.exchange(up);
  if (was && !up) {
    spdlog::warn("redis engine degraded ({}): publishes get 503 until it recovers", why);
  } else if (!was && up) {
    spdlog::info(ever_healthy_ ? "redis engine healthy again" : "redis engine ready");
    ever_healthy_ = true;
  }
  std::lock_guard lock(health_mutex_);
  health_.up = up;
  health_.latency.reset();
  if (up && slowest >= 0) health_.latency = std::chrono::microseconds(slowest);
  health_.shards.clear();
  if (!cluster_) return;
  for (const Shard* shard : active_) {
    DependencyHealth::Shard out;
    out.node = shard->address.display();
    out.up = shard->commands_up && shard->subscriber_up && shard->probe_ok;
    if (out.up && shard->probe_latency_us >= 0) {
      out.latency = std::chrono::microseconds(shard->probe_latency_us);
    }
    out.slots = shard->slots;
    health_.shards.push_back(std::move(out));
  }
}

std::optional<DependencyHealth> RedisBroker::dependency() const {
  std::lock_guard lock(health_mutex_);
  return health_;
}

void RedisBroker::publish(std::vector<PublishedEvent> events, PublishCallback done) {
  net::post(io_, [this, events = std::move(events), done = std::move(done)]() mutable {
    // A Redis that stops reading must not grow our memory without bound: refuse instead. And
    // refuse while this node could not deliver to its own subscribers (a connection down, the
    // probe lost, topics not yet resubscribed after a reconnect or a slot move): a 202 would
    // reach nobody here.
    bool accepting = healthy_ && resubscribing_.empty() && !mailbox_pattern_resubscribing_;
    for (const Shard* shard : active_) {
      accepting = accepting && shard->commands.ready() &&
                  shard->commands.backlog_bytes() < max_backlog_bytes;
    }
    if (!accepting || events.empty()) {
      if (done) done(accepting ? PublishStatus::ok : PublishStatus::unavailable);
      return;
    }
    const std::int64_t ts = unix_millis();
    // One batch per shard, each in this loop turn's single write to it; the caller hears once
    // every shard's last reply is in.
    std::vector<std::pair<Shard*, std::vector<const PublishedEvent*>>> batches;
    for (const PublishedEvent& e : events) {
      Shard* shard = shard_for_topic(e.topic);
      if (shard == nullptr) {
        if (done) done(PublishStatus::unavailable);
        return;
      }
      auto it = std::find_if(batches.begin(), batches.end(),
                             [shard](const auto& b) { return b.first == shard; });
      if (it == batches.end()) it = batches.insert(batches.end(), {shard, {}});
      it->second.push_back(&e);
    }
    struct Outcome {
      std::size_t remaining;
      bool ok = true;
      PublishCallback done;
    };
    auto outcome = std::make_shared<Outcome>(Outcome{batches.size(), true, std::move(done)});
    for (auto& [shard, batch] : batches) {
      publish_on(*shard, batch, ts, [outcome](const redisReply* reply) {
        outcome->ok = outcome->ok && reply != nullptr && !reply_is_error(*reply);
        if (--outcome->remaining == 0 && outcome->done) {
          outcome->done(outcome->ok ? PublishStatus::ok : PublishStatus::unavailable);
        }
      });
    }
  });
}

void RedisBroker::publish_on(Shard& shard, std::vector<const PublishedEvent*>& events,
                             std::int64_t ts, RedisConnection::ReplyHandler done) {
  const bool history = options_.history && options_.history->any();
  // One publish per event without history, and the script for events with: on one Redis one
  // call for the whole batch, on Cluster one per event (a call's keys share a slot). Only the
  // last command carries `done`: replies come in order, and a lost connection fails it.
  std::vector<std::string> script;  // keys, then arguments (redis_history_script.hpp)
  std::vector<std::string> script_args;
  const std::string epoch = history ? new_epoch() : std::string();
  auto run_script = [&](RedisConnection::ReplyHandler handler) {
    const std::string key_count = std::to_string(script.size());
    std::vector<std::string_view> argv{"EVALSHA", history_publish_sha_, key_count};
    argv.insert(argv.end(), script.begin(), script.end());
    argv.push_back(epoch);
    argv.push_back(publish_command_);
    argv.insert(argv.end(), script_args.begin(), script_args.end());
    shard.commands.command(argv, [this, &shard, handler](const redisReply* reply) {
      check_reply(shard, reply);
      if (reply != nullptr && reply_is_error(*reply)) {
        spdlog::warn("redis: the history publish script failed: {}", reply_string(*reply));
      }
      if (handler) handler(reply);
    });
    script.clear();
    script_args.clear();
  };
  for (std::size_t i = 0; i < events.size(); ++i) {
    const PublishedEvent& e = *events[i];
    const bool last = i + 1 == events.size();
    if (e.topic == events_topic) {
      // Plain PUBLISH even on Cluster: the backend SUBSCRIBEs on any node. On one Redis the
      // nodes read it too (channel_of), and it decodes as the topic's payload.
      const std::string backend = backend_event_json(e.event, e.data, ts, options_.node_id);
      if (!cluster_) {
        RedisConnection::ReplyHandler handler;
        if (last && script.empty()) handler = done;
        shard.commands.command({"PUBLISH", events_channel_, backend}, std::move(handler));
        continue;
      }
      shard.commands.command({"PUBLISH", events_channel_, backend}, nullptr);
    }
    std::string payload = encode_redis_payload(e, ts);
    std::string channel = channel_of(e.topic);
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
      if (cluster_) run_script(last ? done : nullptr);
      continue;
    }
    RedisConnection::ReplyHandler handler;
    if (last && script.empty()) handler = done;
    if (cluster_) {
      // Every reply is looked at: a MOVED says the slot map is stale.
      shard.commands.command({publish_command_, channel, payload},
                             [this, &shard, handler](const redisReply* reply) {
                               check_reply(shard, reply);
                               if (handler) handler(reply);
                             });
    } else {
      shard.commands.command({publish_command_, channel, payload}, std::move(handler));
    }
  }
  if (!script.empty()) run_script(done);
}

void RedisBroker::read_history(std::string_view topic, const HistoryLimits& limits,
                               HistoryRequest request, std::function<void(HistoryResult)> done) {
  net::post(
      io_, [this, topic = std::string(topic), limits, request, done = std::move(done)]() mutable {
        const std::string key = history_key_of(topic);
        if (!ready_for_key(key)) return done(HistoryResult{});
        const std::string meta = key + ":meta";
        const std::string since = std::to_string(request.since);
        const std::string limit = std::to_string(request.limit);
        const std::string size = std::to_string(limits.size);
        const std::string ttl = std::to_string(limits.ttl.count());
        const std::string meta_ttl = std::to_string(std::max(limits.ttl, history_meta_ttl).count());
        const std::string epoch = new_epoch();
        command_for_key(key,
                        {"EVALSHA", history_read_sha_, "2", key, meta, since, limit, size, ttl,
                         epoch, meta_ttl},
                        [topic, done = std::move(done)](const redisReply* reply) {
                          done(parse_history_reply(topic, reply));
                        });
      });
}

void RedisBroker::send_command(const UserCommand& command) {
  net::post(io_, [this, payload = encode_user_command(command, options_.node_id)] {
    // Like any publish: lost while Redis is down (the caller already applied it here). A plain
    // PUBLISH reaches every node of a cluster.
    Shard* shard = control_shard_;
    if (shard != nullptr && shard->commands.ready()) {
      shard->commands.command({"PUBLISH", control_channel_, payload}, nullptr);
    }
  });
}

void RedisBroker::topic_added(std::string_view topic, std::size_t shard) {
  if (topics_.add(topic, shard)) net::post(io_, [this, t = std::string(topic)] { sync_topic(t); });
}

void RedisBroker::topic_removed(std::string_view topic, std::size_t shard) {
  if (topics_.remove(topic, shard))
    net::post(io_, [this, t = std::string(topic)] { sync_topic(t); });
}

void RedisBroker::mailboxes_changed(std::size_t shard, bool any) {
  topics_.set_mailboxes(shard, any);
  if (!any || cluster_ || mailbox_pattern_wanted_.exchange(true)) return;
  net::post(io_, [this] { subscribe_mailbox_pattern(); });
}

void RedisBroker::subscribe_mailbox_pattern() {
  // Before the subscriber is up, on_subscriber_ready() sends it.
  if (!mailbox_pattern_wanted_ || mailbox_pattern_refused_ || mailbox_pattern_sent_ ||
      control_shard_ == nullptr || !control_shard_->subscriber_up) {
    return;
  }
  control_shard_->subscriber.push_command({"PSUBSCRIBE", mailbox_pattern_});
  mailbox_pattern_sent_ = mailbox_pattern_pending_ = true;
}

void RedisBroker::when_live(std::string_view topic, std::function<void()> ready) {
  net::post(io_, [this, t = std::string(topic), ready = std::move(ready)]() mutable {
    if (auto it = subscribed_.find(t); it != subscribed_.end() && it->second.confirmed) {
      return ready();
    }
    if (!topics_.contains(t)) return;  // the subscriber already left again
    // Not confirmed yet: the subscribe is on its way, or Redis is down (or the slot unserved)
    // and the resubscription after the reconnect will confirm it.
    waiters_[t].push_back(std::move(ready));
    sync_topic(t);
  });
}

void RedisBroker::forget_subscription(const std::string& topic) { subscribed_.erase(topic); }

void RedisBroker::sync_topic(const std::string& topic) {
  // Decided from the current state, not from the order of the posts: adds and removes from
  // different shards may arrive here in any order.
  const bool wanted = topics_.contains(topic);
  Shard* owner = wanted ? shard_for_topic(topic) : nullptr;
  auto it = subscribed_.find(topic);
  Shard* current = it == subscribed_.end() ? nullptr : it->second.shard;
  if (wanted && current == owner && current != nullptr) return;
  if (current != nullptr) {
    // Left, or its slot moved to another master.
    if (current->subscriber.push_command({unsubscribe_command_, channel_of(topic)}) && cluster_) {
      ++current->unsubscribing[topic];
    }
    forget_subscription(topic);
  }
  if (!wanted) {
    resubscribing_.erase(topic);
    waiters_.erase(topic);  // their sessions left
    return;
  }
  // Nobody serves the slot or its master is down: subscribed when it connects or is mapped.
  if (owner == nullptr || !owner->subscriber.ready()) return;
  if (owner->subscriber.push_command({subscribe_command_, channel_of(topic)})) {
    subscribed_[topic] = {owner, false};
    // After SUBSCRIBE, UNSUBSCRIBE, SUBSCRIBE the first confirmation is not the one that counts;
    // a confirmation from the master the topic moved away from never counts.
    auto& due = unconfirmed_[topic];
    if (due.first != owner) due = {owner, 0};
    ++due.second;
    if (current != nullptr) resubscribing_.insert(topic);
  }
}

void RedisBroker::on_commands_ready(Shard& shard) {
  load_scripts(shard);
  shard.commands_up = true;
  update_health("commands");
  for (auto& f : commands_ready_) f();
}

void RedisBroker::on_subscriber_ready(Shard& shard) {
  on_subscriber_down(shard);            // nothing of the last connection is left
  shard.probe_seen = shard.probe_sent;  // the probe clock restarts with the connection
  shard.probe_sent_at = std::chrono::steady_clock::now();
  shard.subscriber.push_command({subscribe_command_, shard.probe_channel});
  if (&shard == control_shard_) {
    shard.subscriber.push_command({"SUBSCRIBE", control_channel_});
    if (mailbox_pattern_wanted_ && !mailbox_pattern_refused_ && !cluster_) {
      shard.subscriber.push_command({"PSUBSCRIBE", mailbox_pattern_});
      mailbox_pattern_sent_ = mailbox_pattern_pending_ = mailbox_pattern_resubscribing_ = true;
    }
  }
  std::vector<std::string> topics;
  for (std::string& t : topics_.snapshot()) {
    if (shard_for_topic(t) == &shard && !subscribed_.contains(t)) topics.push_back(std::move(t));
  }
  const std::size_t chunk = cluster_ ? 1 : resubscribe_chunk;
  for (std::size_t i = 0; i < topics.size(); i += chunk) {
    std::vector<std::string> channels;
    std::vector<std::string_view> args{subscribe_command_};
    for (std::size_t j = i; j < std::min(topics.size(), i + chunk); ++j) {
      const std::string& t = topics[j];
      channels.push_back(channel_of(t));
      subscribed_[t] = {&shard, false};
      resubscribing_.insert(t);
      auto& due = unconfirmed_[t];
      if (due.first != &shard) due = {&shard, 0};
      ++due.second;
    }
    for (const auto& c : channels) args.push_back(c);
    shard.subscriber.push_command(args);
  }
  if (!topics.empty()) {
    spdlog::info("redis: resubscribed {} topics on {}", topics.size(),
                 cluster_ ? shard.address.display() : std::string("redis"));
  }
  shard.subscriber_up = true;
  update_health("subscriber");
}

void RedisBroker::on_subscriber_down(Shard& shard) {
  for (auto it = subscribed_.begin(); it != subscribed_.end();) {
    if (it->second.shard != &shard) {
      ++it;
      continue;
    }
    resubscribing_.erase(it->first);
    it = subscribed_.erase(it);
  }
  std::erase_if(unconfirmed_, [&shard](const auto& due) { return due.second.first == &shard; });
  shard.unsubscribing.clear();
  if (&shard == control_shard_) {
    mailbox_pattern_sent_ = mailbox_pattern_pending_ = mailbox_pattern_resubscribing_ = false;
  }
  if (!shard.subscriber_up) return;
  shard.subscriber_up = false;
  update_health("subscriber");
  request_slots("a master's subscriber connection dropped");
}

void RedisBroker::on_push(Shard& shard, const redisReply& push) {
  if (reply_is_error(push)) return on_subscribe_refused(shard, reply_string(push));
  const std::string_view kind = reply_string(reply_at(push, 0));
  const std::string_view channel = reply_string(reply_at(push, 1));
  if ((kind == "message" || kind == "smessage") && reply_size(push) >= 3) {
    return on_message(shard, channel, reply_string(reply_at(push, 2)), Reach::subscribers);
  }
  if (kind == "pmessage" && reply_size(push) >= 4) {
    return on_message(shard, reply_string(reply_at(push, 2)), reply_string(reply_at(push, 3)),
                      Reach::mailboxes);
  }
  if (kind == "psubscribe") {
    if (&shard == control_shard_ && channel == mailbox_pattern_) {
      mailbox_pattern_pending_ = mailbox_pattern_resubscribing_ = false;
    }
    return;
  }
  if (kind == "subscribe" || kind == "ssubscribe") {
    if (channel == shard.probe_channel) {
      shard.probe_ok = true;
      update_health("probe");
      return;
    }
    const auto topic_view = topic_of(channel);
    if (!topic_view) return;
    const std::string topic(*topic_view);
    if (auto due = unconfirmed_.find(topic); due != unconfirmed_.end()) {
      if (due->second.first != &shard || --due->second.second > 0) return;
      unconfirmed_.erase(due);
    }
    auto it = subscribed_.find(topic);
    if (it == subscribed_.end() || it->second.shard != &shard) return;  // left or moved meanwhile
    it->second.confirmed = true;
    resubscribing_.erase(topic);
    if (auto w = waiters_.find(topic); w != waiters_.end()) {
      auto ready = std::move(w->second);
      waiters_.erase(w);
      for (auto& r : ready) r();
    }
    return;
  }
  if (kind == "sunsubscribe") {
    const auto topic_view = topic_of(channel);
    if (!topic_view) {
      if (channel == shard.probe_channel) request_slots("the probe channel's slot moved");
      return;
    }
    const std::string topic(*topic_view);
    if (auto ours = shard.unsubscribing.find(topic); ours != shard.unsubscribing.end()) {
      if (--ours->second == 0) shard.unsubscribing.erase(ours);
      return;
    }
    auto it = subscribed_.find(topic);
    if (it == subscribed_.end() || it->second.shard != &shard) return;
    // Redis dropped it: the slot moved to another master. Refuse publishes until the topic is
    // subscribed on its new owner.
    spdlog::debug("redis: {} dropped {} (its slot moved)", shard.address.display(), topic);
    forget_subscription(topic);
    unconfirmed_.erase(topic);
    resubscribing_.insert(topic);
    request_slots("a slot moved");
  }
}

void RedisBroker::on_subscribe_refused(Shard& shard, std::string_view error) {
  if (mailbox_pattern_pending_ && &shard == control_shard_ && error.starts_with("NOPERM")) {
    // An ACL that allows the topics' channels but not this pattern (Redis compares a pattern
    // with the allowed ones literally). Sending it again would refuse it again: give it up, and
    // let the connections subscribe their own topic, as on Cluster.
    spdlog::error(
        "redis refused PSUBSCRIBE {}: {}. Socket.IO connections now subscribe their user's own "
        "topic one by one instead; allow the pattern in the ACL (&{}) to avoid that",
        mailbox_pattern_, error, mailbox_pattern_);
    mailbox_pattern_refused_ = true;
    mailbox_pattern_pending_ = mailbox_pattern_resubscribing_ = false;
    for (DeliveryTarget* target : targets_) target->mailboxes_refused();
    return;
  }
  const auto now = std::chrono::steady_clock::now();
  if (now - refused_logged_at_ > refusal_log_interval) {
    spdlog::warn("redis: {} refused a subscription: {}",
                 cluster_ ? shard.address.display() : std::string("redis"), error);
    refused_logged_at_ = now;
  }
  if (!cluster_) return shard.subscriber.restart("a subscription was refused");
  // Which of the unconfirmed ones is not said: subscribe them all again once the map is fresh.
  std::vector<std::string> pending;
  for (const auto& [topic, where] : subscribed_) {
    if (where.shard == &shard && !where.confirmed) pending.push_back(topic);
  }
  for (const std::string& topic : pending) {
    forget_subscription(topic);
    unconfirmed_.erase(topic);
    resubscribing_.insert(topic);
  }
  request_slots(error);
}

void RedisBroker::on_message(Shard& shard, std::string_view channel, std::string_view payload,
                             Reach reach) {
  if (channel == shard.probe_channel) {
    if (shard.probe_seen != shard.probe_sent && payload == std::to_string(shard.probe_sent)) {
      shard.probe_latency_us = std::chrono::duration_cast<std::chrono::microseconds>(
                                   std::chrono::steady_clock::now() - shard.probe_sent_at)
                                   .count();
    }
    shard.probe_seen = shard.probe_sent;
    shard.probe_ok = true;
    update_health("probe");
    return;
  }
  if (channel == control_channel_) return on_control(payload);
  const auto topic = topic_of(channel);
  if (!topic) return;
  // The pattern brings every user's own topic to every node: most are for nobody here.
  if (reach == Reach::mailboxes && (!mailbox_user(*topic) || !topics_.any_mailboxes())) return;
  std::string error;
  auto message = decode_redis_payload(*topic, payload, error);
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
  pending_->back().reach = reach;
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
  const ShardSet shards = topics_.keep_present(
      *batch, [](const TopicFrame& f) -> std::string_view { return f.topic; },
      [](const TopicFrame& f) { return f.reach; });
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
  const auto now = std::chrono::steady_clock::now();
  for (Shard* shard : active_) {
    if (!shard->commands.ready() || !shard->subscriber.ready()) continue;
    if (shard->probe_seen != shard->probe_sent &&
        now - shard->probe_sent_at > options_.probe_timeout) {
      // Connected but deaf (e.g. after a failover), on either connection: reconnecting both
      // resubscribes everything and fails the publishes stuck behind a deaf one.
      shard->probe_ok = false;
      update_health("probe not delivered");
      shard->subscriber.restart("the delivery probe did not come back");
      shard->commands.restart("the delivery probe did not come back");
      request_slots("the delivery probe did not come back");
      continue;
    }
    if (sentinel_) shard->commands.check_role();
    if (shard->probe_seen == shard->probe_sent) {
      ++shard->probe_sent;
      shard->probe_sent_at = now;
      RedisConnection::ReplyHandler handler;
      if (cluster_) handler = [this, shard](const redisReply* r) { check_reply(*shard, r); };
      shard->commands.command(
          {publish_command_, shard->probe_channel, std::to_string(shard->probe_sent)},
          std::move(handler));
    }
  }
}

std::optional<RedisAddress> RedisBroker::next_seed() {
  // The seeds of the URL, then every master of the last map: any of them can tell the map.
  std::vector<RedisAddress> candidates = options_.endpoint.cluster_nodes;
  for (const Shard* shard : active_) {
    if (std::find(candidates.begin(), candidates.end(), shard->address) == candidates.end()) {
      candidates.push_back(shard->address);
    }
  }
  return candidates[next_seed_++ % candidates.size()];
}

void RedisBroker::request_slots(std::string_view why) {
  if (!cluster_) return;
  if (slots_asked_) {
    slots_wanted_ = true;
    return;
  }
  spdlog::debug("redis cluster: asking for the slot map ({})", why);
  const auto soonest = slots_asked_at_ + slots_min_interval;
  if (std::chrono::steady_clock::now() >= soonest) return ask_slots();
  if (slots_timer_.expiry() > soonest) schedule_slots_refresh(soonest);
}

void RedisBroker::schedule_slots_refresh(std::chrono::steady_clock::time_point when) {
  slots_timer_.expires_at(when);
  slots_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) ask_slots();
  });
}

void RedisBroker::ask_slots() {
  const auto now = std::chrono::steady_clock::now();
  schedule_slots_refresh(now + slots_refresh_interval);
  if (slots_asked_) {
    slots_wanted_ = true;
    return;
  }
  if (!topology_->ready()) return;  // it asks once connected
  slots_asked_ = true;
  slots_wanted_ = false;
  slots_asked_at_ = now;
  topology_->command({"CLUSTER", "SLOTS"}, [this](const redisReply* reply) {
    slots_asked_ = false;
    if (reply == nullptr) return;  // reconnecting to the next seed; it asks again then
    std::string error;
    std::optional<ClusterSlotMap> map;
    if (reply_is_error(*reply)) {
      error = reply_string(*reply);
    } else {
      map = ClusterSlotMap::from_cluster_slots(*reply, topology_->address().host, error);
    }
    if (!map) {
      // Not a cluster node, or a reply we cannot read: ask another node.
      spdlog::warn("redis cluster: no slot map from {}: {}", topology_->address().display(), error);
      topology_->restart("no slot map");
      return;
    }
    apply_slots(*map);
    if (slots_wanted_) request_slots("asked again meanwhile");
  });
}

void RedisBroker::apply_slots(const ClusterSlotMap& map) {
  if (!slot_map_ || !(*slot_map_ == map)) {
    std::vector<Shard*> owners;  // by index into map.nodes()
    for (const ClusterNode& node : map.nodes()) {
      const RedisAddress address{node.host, node.port};
      auto it = std::find_if(shards_.begin(), shards_.end(),
                             [&](const auto& s) { return s->address == address; });
      owners.push_back(it != shards_.end() ? it->get() : &add_shard(address));
    }
    for (Shard* shard : active_) {
      if (std::find(owners.begin(), owners.end(), shard) != owners.end()) continue;
      spdlog::info("redis cluster: {} serves no slots any more", shard->address.display());
      shard->active = false;
      shard->commands.stop();
      shard->subscriber.stop();
      shard->commands_up = false;
      on_subscriber_down(*shard);
      shard->subscriber_up = false;
    }
    for (Shard* shard : owners) {
      if (shard->active) continue;
      shard->active = true;
      shard->probe_ok = true;
      shard->commands.start();
      shard->subscriber.start();
    }
    active_ = owners;
    for (Shard* shard : owners) shard->slots = 0;
    std::size_t served = 0;
    for (std::size_t slot = 0; slot < cluster_slot_count; ++slot) {
      const auto owner = map.owner(static_cast<std::uint16_t>(slot));
      slot_owner_[slot] = owner ? owners[*owner] : nullptr;
      if (owner) {
        ++owners[*owner]->slots;
        ++served;
      }
    }
    slot_map_ = map;
    if (served == cluster_slot_count) {
      spdlog::info("redis cluster: {} masters serve every slot", owners.size());
    } else {
      spdlog::warn("redis cluster: {} of {} slots are served (by {} masters): publishes get 503",
                   served, cluster_slot_count, owners.size());
    }
    // The control channel is a plain channel: one master's subscriber is enough.
    Shard* control = active_.empty() ? nullptr : active_.front();
    if (control != control_shard_) {
      if (control_shard_ != nullptr && control_shard_->active &&
          control_shard_->subscriber.ready()) {
        control_shard_->subscriber.push_command({"UNSUBSCRIBE", control_channel_});
      }
      control_shard_ = control;
      if (control != nullptr && control->subscriber.ready()) {
        control->subscriber.push_command({"SUBSCRIBE", control_channel_});
      }
    }
    for (Shard* shard : active_) choose_probe_channel(*shard);
  }
  // Even when nothing changed: a topic dropped by a slot move waits for this.
  for (const std::string& topic : topics_.snapshot()) sync_topic(topic);
  update_health("slot map");
}

void RedisBroker::choose_probe_channel(Shard& shard) {
  if (!shard.probe_channel.empty() && slot_owner_[key_slot(shard.probe_channel)] == &shard) {
    return;
  }
  const std::string before = shard.probe_channel;
  const std::string base = options_.prefix + "probe:" + options_.node_id + ":{";
  // A hash tag this master serves; a few tries find one unless it serves very few slots.
  for (int i = 0; i < 1'000'000; ++i) {
    std::string channel = base + std::to_string(i) + "}";
    if (slot_owner_[key_slot(channel)] != &shard) continue;
    shard.probe_channel = std::move(channel);
    if (shard.subscriber.ready()) {
      if (!before.empty()) shard.subscriber.push_command({unsubscribe_command_, before});
      shard.subscriber.push_command({subscribe_command_, shard.probe_channel});
      shard.probe_seen = shard.probe_sent;
    }
    return;
  }
  spdlog::error("redis cluster: found no probe channel for {}", shard.address.display());
}

}  // namespace realtime
