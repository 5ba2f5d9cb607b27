#include "client/client_session.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>

#include <random>

#include "broker/history.hpp"
#include "net/shard.hpp"
#include "presence/typing_tracker.hpp"
#include "protocol/topic.hpp"
#include "server/lifecycle_events.hpp"
#include "server/server_context.hpp"
#include "util/clock.hpp"

namespace net = boost::asio;

namespace realtime {
namespace {

constexpr std::string_view bad_topic_message = "topic must be 1-200 bytes of [A-Za-z0-9_.:@/-]";

// Live subscriptions kept by a check are asked again after the check's ttl plus up to a quarter
// more, so that subscriptions made together (a reconnect storm) are not checked together.
std::chrono::milliseconds spread(std::chrono::seconds ttl) {
  thread_local std::mt19937 rng{std::random_device{}()};
  const auto base = std::chrono::duration_cast<std::chrono::milliseconds>(ttl);
  std::uniform_int_distribution<long long> extra(0, base.count() / 4);
  return base + std::chrono::milliseconds(extra(rng));
}

std::string refusal(const Authorization& a, std::string_view what, std::string_view topic) {
  std::string out = "you may not " + std::string(what) + " " + std::string(topic);
  if (!a.message.empty()) out += " (" + a.message + ")";
  return out;
}

// REALTIME_CLIENT_RATE_LIMIT frames per second, in bursts of up to 10x that.
RateLimit frame_limit(const Config& config) {
  return {double(config.client_rate_limit), 10.0 * config.client_rate_limit};
}

}  // namespace

ClientSession::ClientSession(Shard& shard, UpgradeGrant grant)
    : shard_(shard),
      subject_(std::move(grant.subject)),
      handshake_(std::make_unique<UpgradeGrant>(std::move(grant))),
      connection_id_(shard.context().next_connection_id()),
      rate_limiter_(frame_limit(*shard.context().config), connected_at_) {}

ClientSession::Tracking& ClientSession::tracking() {
  if (!tracking_) tracking_ = std::make_unique<Tracking>();
  return *tracking_;
}

bool ClientSession::take_frame_budget(Clock::time_point now) {
  return rate_limiter_.try_take(frame_limit(*shard_.context().config), now);
}

void ClientSession::start() {
  ServerContext& ctx = shard_.context();
  started_ = true;
  shard_.attach_user(this);
  ctx.presence->connect(connection_id_, subject_.user_id);
  send_welcome();
  // The handshake's parts are done with: an idle connection keeps only its subject.
  const std::unique_ptr<UpgradeGrant> handshake = std::move(handshake_);
  std::vector<std::string> subscribed;
  for (const auto& topic : handshake->topics) {
    if (subscribe(topic, {})) subscribed.push_back(topic);
  }
  ctx.broker->publish({client_connected_event(subject_.user_id, connection_id_, subscribed)},
                      nullptr);
}

void ClientSession::sweep(Clock::time_point now, std::int64_t now_ms) {
  if (closing()) return;
  ServerContext& ctx = shard_.context();
  if (now - last_activity() > 2 * std::chrono::seconds(ctx.config->heartbeat_seconds)) {
    ctx.metrics->count_heartbeat_timeout();
    return close(close_code::heartbeat_timeout, "heartbeat timeout");
  }
  // Closed within a sweep (at most 5 s) of the expiry: the grace a refresh may still use.
  if (expires_at_ms() > 0 && now_ms >= expires_at_ms()) {
    close(close_code::unauthorized, "connection expired");
  }
}

void ClientSession::send_error(std::string_view id, ErrorCode code, std::string_view message) {
  shard_.context().metrics->count_error(code);
  reply_error(id, code, message);
}

void ClientSession::handle(ClientMessage msg) {
  ServerContext& ctx = shard_.context();
  switch (msg.type) {
    case ClientMessageType::subscribe:
      subscribe(msg.topic, msg.id, msg.since);
      return;
    case ClientMessageType::unsubscribe:
      return on_unsubscribe(msg);
    case ClientMessageType::publish:
      return on_publish(std::move(msg));
    case ClientMessageType::presence:
      ctx.presence->set_status(connection_id_, msg.status);
      return reply_ack(msg.id);
    case ClientMessageType::typing:
      return on_typing(std::move(msg));
    case ClientMessageType::ping:
      return reply_pong(msg.id);
    case ClientMessageType::refresh:
      return on_refresh(msg);
  }
}

bool ClientSession::subscribe(const std::string& topic, std::string_view id, const Since& since) {
  ServerContext& ctx = shard_.context();
  if (!is_valid_topic(topic)) {
    send_error(id, ErrorCode::bad_request, bad_topic_message);
    return false;
  }
  auto& registry = shard_.registry();
  if (registry.is_subscribed(this, topic)) {
    reply_subscribed(id, topic, false);
    return true;
  }
  const auto limit = static_cast<std::size_t>(ctx.config->max_subscriptions);
  const std::size_t pending_checks = tracking_ ? tracking_->pending_checks : 0;
  if (registry.subscription_count(this) + pending_checks >= limit) {
    send_error(id, ErrorCode::too_many_subscriptions,
               "this connection already has REALTIME_MAX_SUBSCRIPTIONS (" +
                   std::to_string(ctx.config->max_subscriptions) + ") subscriptions");
    return false;
  }
  auto answer = authorize(TopicAction::subscribe, topic,
                          [this, topic, id = std::string(id), since](Authorization a) {
                            --tracking().pending_checks;
                            on_authorized(topic, id, since, std::move(a));
                          });
  if (!answer) {
    ++tracking().pending_checks;
    return true;
  }
  const bool allowed = answer->allowed();
  on_authorized(topic, std::string(id), since, std::move(*answer));
  return allowed;
}

void ClientSession::on_authorized(const std::string& topic, const std::string& id,
                                  const Since& since, Authorization a) {
  if (!a.allowed()) return refuse(id, a, "subscribe to", topic);
  if (shard_.registry().is_subscribed(this, topic)) {
    return reply_subscribed(id, topic, false);
  }
  join(topic, id, false, a.recheck, since);
}

void ClientSession::join(const std::string& topic, const std::string& id, bool server,
                         std::chrono::seconds recheck, const Since& since) {
  ServerContext& ctx = shard_.context();
  if (ctx.history != nullptr && !is_reserved_topic(topic) && ctx.history->limits_for(topic)) {
    // Before the registry: every live event from now on is held until the history read.
    drop_seam(topic);
    Seam& seam = tracking().seams.emplace_back();
    seam.topic = topic;
    seam.generation = ++tracking_->next_generation;
  }
  if (shard_.registry().subscribe(this, topic).topic_created) {
    ctx.broker->topic_added(topic, shard_.index());
  }
  shard_.counters().subscriptions.fetch_add(1, std::memory_order_relaxed);
  if (recheck.count() > 0) schedule_recheck(topic, recheck);
  // "subscribed" promises that what is published next arrives: with Redis that is once the
  // node's SUBSCRIBE is confirmed. The embedded engine calls back at once, inline.
  ctx.broker->when_live(topic,
                        [weak = std::weak_ptr<ClientSession>(self()), topic, id, server, since] {
                          auto self = weak.lock();
                          if (!self) return;
                          net::dispatch(self->executor(), [self, topic, id, server, since] {
                            if (self->ended_ || self->closing()) return;
                            self->on_live(topic, id, server, since);
                          });
                        });
}

void ClientSession::on_live(const std::string& topic, const std::string& id, bool server,
                            const Since& since) {
  ServerContext& ctx = shard_.context();
  if (!shard_.registry().is_subscribed(this, topic)) return;
  const Seam* seam = nullptr;
  if (tracking_) {
    for (const auto& s : tracking_->seams) {
      if (s.topic == topic && s.holding) seam = &s;
    }
  }
  const auto limits = seam != nullptr ? ctx.history->limits_for(topic) : std::nullopt;
  if (!limits) {
    if (seam != nullptr) drop_seam(topic);  // the rules changed meanwhile (SIGHUP)
    if (!since) return reply_live(topic, id, server, nullptr);
    // Asked to recover a topic that keeps no history: nothing can be replayed.
    const SubscribedPosition none{{}, 0, false};
    return reply_live(topic, id, server, &none);
  }
  // Read after the subscription is live: every event past the offset read arrives live.
  const HistoryRequest request{since ? since->offset : 0, since ? limits->size : 0};
  ctx.broker->read_history(
      topic, *limits, request,
      [weak = std::weak_ptr<ClientSession>(self()), topic, id, server, since,
       generation = seam->generation](HistoryResult result) {
        auto self = weak.lock();
        if (!self) return;
        // Posted, never run inline: the embedded engine's deliveries queued before the read
        // reach the seam first.
        net::post(self->executor(), [self, topic, id, server, since, generation,
                                     result = std::move(result)]() mutable {
          if (self->ended_ || self->closing()) return;
          self->on_history(topic, id, server, generation, since, std::move(result));
        });
      });
}

void ClientSession::on_history(const std::string& topic, const std::string& id, bool server,
                               std::uint64_t generation, const Since& since, HistoryResult result) {
  Seam* seam = nullptr;
  if (tracking_) {
    for (auto& s : tracking_->seams) {
      if (s.topic == topic && s.generation == generation) seam = &s;
    }
  }
  if (seam == nullptr || !shard_.registry().is_subscribed(this, topic)) return;  // left
  if (!result.ok) {
    leave(topic);
    return send_error(id, ErrorCode::unavailable,
                      "cannot read the history of " + topic + " now; subscribe again later");
  }
  const bool recovered = since && can_recover(*since, result);
  if (recovered) {
    for (const auto& e : *result.events) deliver(e);
  }
  const SubscribedPosition position{result.epoch, result.offset,
                                    since ? std::optional<bool>(recovered) : std::nullopt};
  reply_live(topic, id, server, &position);
  // reply_live() may not touch the seams: `seam` is still valid.
  auto held = std::move(seam->held);
  bool passed = false;
  for (const auto& [batch, item] : held) {
    if (item->offset <= result.offset) continue;  // in the history already
    passed = true;
    deliver(*item);
  }
  if (passed) return drop_seam(topic);
  // Events up to the offset read may still be on their way from the engine: drop them.
  seam->holding = false;
  seam->held_bytes = 0;
  seam->floor = result.offset;
}

void ClientSession::reply_live(const std::string& topic, const std::string& id, bool server,
                               const SubscribedPosition* position) {
  // Joined before the reply leaves (the write may start at once): a client that got
  // `subscribed` is already listed by GET /realtime/presence/:topic. Watching the lifecycle
  // events is not being present somewhere.
  if (present_in(topic)) shard_.context().presence->join(connection_id_, topic);
  reply_subscribed(id, topic, server, position);
}

bool ClientSession::at_seam(const TopicFrame& item,
                            const std::shared_ptr<const FrameBatch>& batch) {
  for (auto& seam : tracking_->seams) {
    if (seam.topic != item.topic) continue;
    if (closing()) return true;
    if (seam.holding) {
      seam.held_bytes += item.frame->size();
      // Bounded like a send queue: a history read that never ends must not grow memory.
      if (seam.held_bytes > shard_.context().config->max_queue_bytes) {
        close(close_code::slow_consumer, "too many events while recovering");
        return true;
      }
      seam.held.emplace_back(batch, &item);
      return true;
    }
    if (item.offset <= seam.floor) return true;  // was in the history read
    drop_seam(item.topic);                       // past the seam: live from now on
    return false;
  }
  return false;
}

void ClientSession::drop_seam(std::string_view topic) {
  if (!tracking_) return;
  std::erase_if(tracking_->seams, [&](const Seam& s) { return s.topic == topic; });
}

bool ClientSession::leave(const std::string& topic) {
  ServerContext& ctx = shard_.context();
  auto result = shard_.registry().unsubscribe(this, topic);
  if (!result.removed) return false;
  drop_seam(topic);
  stop_checking(topic);
  if (result.topic_removed) ctx.broker->topic_removed(topic, shard_.index());
  shard_.counters().subscriptions.fetch_sub(1, std::memory_order_relaxed);
  if (present_in(topic)) ctx.presence->leave(connection_id_, topic);
  return true;
}

void ClientSession::on_unsubscribe(const ClientMessage& msg) {
  leave(msg.topic);
  reply_unsubscribed(msg.id, msg.topic, {});
}

bool ClientSession::server_subscribe(const std::string& topic) {
  if (ended_ || closing()) return false;
  if (shard_.registry().is_subscribed(this, topic)) {
    // The backend's word now keeps it: no more checks.
    stop_checking(topic);
    return false;
  }
  join(topic, {}, true, std::chrono::seconds(0));
  return true;
}

bool ClientSession::server_unsubscribe(const std::string& topic, std::string_view reason) {
  if (ended_ || closing() || !leave(topic)) return false;
  reply_unsubscribed({}, topic, reason);
  return true;
}

void ClientSession::schedule_recheck(const std::string& topic, std::chrono::seconds after) {
  Checked& c = tracking().checked[topic];
  if (c.entry) shard_.cancel_recheck(*c.entry);
  c.generation = ++tracking_->next_generation;
  c.entry = shard_.schedule_recheck(Clock::now() + spread(after), this, topic);
}

void ClientSession::stop_checking(const std::string& topic) {
  if (!tracking_) return;
  auto it = tracking_->checked.find(topic);
  if (it == tracking_->checked.end()) return;
  if (it->second.entry) shard_.cancel_recheck(*it->second.entry);
  tracking_->checked.erase(it);
}

void ClientSession::recheck_due(const std::string& topic) {
  if (!tracking_) return;
  auto it = tracking_->checked.find(topic);
  if (it == tracking_->checked.end()) return;
  it->second.entry.reset();  // the shard took it out of the queue
  if (ended_ || closing()) return;
  const std::uint64_t generation = it->second.generation;
  auto on_answer = [this, topic, generation](Authorization a) {
    if (!tracking_) return;
    // Gone, or left and came back meanwhile: not this subscription's answer.
    auto it = tracking_->checked.find(topic);
    if (it == tracking_->checked.end() || it->second.generation != generation) return;
    if (a.outcome == Authorization::Outcome::forbidden) {
      spdlog::info("{} (user {}) lost access to {}: unsubscribed", connection_id_, subject_.user_id,
                   topic);
      server_unsubscribe(topic, "forbidden");
      return;
    }
    // Allowed, or the backend could not say (an outage is not a denial): keep the subscription
    // and ask again a ttl later.
    schedule_recheck(topic, a.recheck.count() > 0 ? a.recheck : std::chrono::seconds(60));
  };
  if (auto answer = authorize(TopicAction::subscribe, topic, on_answer)) on_answer(*answer);
}

void ClientSession::on_publish(ClientMessage msg) {
  auto publish = [this](ClientMessage msg) {
    ServerContext& ctx = shard_.context();
    std::vector<PublishedEvent> events;
    events.push_back({std::move(msg.topic), std::move(msg.event), std::move(msg.data), {}});
    ctx.broker->publish(std::move(events), [weak = std::weak_ptr<ClientSession>(self()),
                                            id = std::move(msg.id)](PublishStatus status) {
      auto self = weak.lock();
      if (!self) return;
      net::post(self->executor(), [self, id, status] {
        if (self->ended_ || self->closing()) return;
        if (status != PublishStatus::ok) {
          return self->send_error(id, ErrorCode::unavailable,
                                  "the broker cannot accept messages now");
        }
        self->shard_.context().metrics->count_published(1);
        self->reply_ack(id);
      });
    });
  };
  auto decide = [this, publish](ClientMessage msg, const Authorization& a) {
    if (a.allowed()) return publish(std::move(msg));
    refuse(msg.id, a, "publish to", msg.topic);
  };
  auto answer = authorize(TopicAction::publish, msg.topic,
                          [decide, msg](Authorization a) { decide(msg, a); });
  if (answer) decide(std::move(msg), *answer);
}

void ClientSession::on_typing(ClientMessage msg) {
  auto decide = [this](const ClientMessage& msg, const Authorization& a) {
    if (a.allowed()) return apply_typing(msg);
    refuse(msg.id, a, "send typing to", msg.topic);
  };
  auto answer =
      authorize(TopicAction::typing, msg.topic, [decide, msg](Authorization a) { decide(msg, a); });
  if (answer) decide(msg, *answer);
}

std::optional<Authorization> ClientSession::authorize(TopicAction action, const std::string& topic,
                                                      std::function<void(Authorization)> later) {
  return shard_.context().authorizer->authorize(
      action, topic, subject_,
      [weak = std::weak_ptr<ClientSession>(self()), later = std::move(later)](Authorization a) {
        // On a runner's thread: back to the shard, if the connection is still there.
        auto self = weak.lock();
        if (!self) return;
        net::post(self->executor(), [self, later, a = std::move(a)]() mutable {
          if (self->ended_ || self->closing()) return;
          later(std::move(a));
        });
      });
}

void ClientSession::refuse(std::string_view id, const Authorization& a, std::string_view what,
                           const std::string& topic) {
  if (a.outcome == Authorization::Outcome::unavailable) {
    return send_error(id, ErrorCode::unavailable,
                      "cannot check access to " + topic + " now; try again later");
  }
  send_error(id, ErrorCode::forbidden, refusal(a, what, topic));
}

void ClientSession::apply_typing(const ClientMessage& msg) {
  ServerContext& ctx = shard_.context();
  if (msg.typing) {
    ctx.typing->start(connection_id_, subject_.user_id, msg.topic, msg.thread_id);
  } else {
    ctx.typing->stop(connection_id_, subject_.user_id, msg.topic);
  }
  // Only a frame that asked (with an id) gets an ack: typing is sent on keystrokes.
  if (!msg.id.empty()) reply_ack(msg.id);
}

void ClientSession::on_refresh(const ClientMessage& msg) {
  ServerContext& ctx = shard_.context();
  auto admitted = ctx.security->admit(msg.token, unix_seconds());
  if (auto* err = std::get_if<AuthError>(&admitted)) {
    return send_error(
        msg.id, ErrorCode::unauthorized,
        "refresh token refused: " + std::string(to_string(err->reason)) + ": " + err->message);
  }
  auto claims = std::move(std::get<ConnectionClaims>(admitted));
  if (claims.subject.user_id != subject_.user_id) {
    return send_error(msg.id, ErrorCode::forbidden,
                      "the refresh token is for another user; connect anew to change user");
  }
  auto apply = [this, id = msg.id](Subject subject) {
    // The same user id, and the same buffer: the shard's user index views it.
    std::string user_id = std::move(subject_.user_id);
    subject_ = std::move(subject);
    subject_.user_id = std::move(user_id);
    reply_refreshed(id, expires_at_ms());
  };
  if (ctx.token_claims == nullptr) return apply(std::move(claims.subject));
  // Single use across the cluster, like a token presented at connect.
  ctx.token_claims->claim(
      claims.jti, claims.expires_at,
      [weak = std::weak_ptr<ClientSession>(self()), apply, id = msg.id,
       subject = std::move(claims.subject)](TokenClaims::Result r) mutable {
        auto self = weak.lock();
        if (!self) return;
        net::post(self->executor(), [self, apply, id, r, subject = std::move(subject)]() mutable {
          if (self->ended_ || self->closing()) return;
          if (r == TokenClaims::Result::first_use) return apply(std::move(subject));
          if (r == TokenClaims::Result::replayed) {
            return self->send_error(id, ErrorCode::unauthorized,
                                    "refresh token refused: replayed: this connection token "
                                    "was already used");
          }
          self->send_error(id, ErrorCode::unavailable,
                           "cannot check the refresh token now (Redis is unreachable)");
        });
      });
}

void ClientSession::open_mailbox() {
  if (mailbox_ || !started_ || ended_) return;
  mailbox_ = true;
  shard_.open_mailbox();
}

void ClientSession::subscribe_instead_of_mailbox() {
  if (!mailbox_ || ended_ || closing()) return;
  mailbox_ = false;
  shard_.close_mailbox();
  server_subscribe(std::string(user_topic_prefix) + user_id());
}

void ClientSession::end() {
  if (ended_) return;
  ended_ = true;
  if (!started_) return;
  ServerContext& ctx = shard_.context();
  if (mailbox_) {
    mailbox_ = false;
    shard_.close_mailbox();
  }
  shard_.detach_user(this);
  if (tracking_) {
    for (auto& [topic, c] : tracking_->checked) {
      if (c.entry) shard_.cancel_recheck(*c.entry);
    }
    tracking_.reset();
  }
  // After the shards stopped the broker may already be gone: nothing is left to notify.
  const bool notify = !ctx.stopped.load();
  shard_.registry().unsubscribe_all(this, [&](std::string_view topic, bool topic_removed) {
    shard_.counters().subscriptions.fetch_sub(1, std::memory_order_relaxed);
    if (topic_removed && notify) ctx.broker->topic_removed(topic, shard_.index());
  });
  const auto session_seconds =
      std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - connected_at_).count();
  if (notify) {
    ctx.typing->disconnect(connection_id_);
    ctx.presence->disconnect(connection_id_);
    ctx.broker->publish(
        {client_disconnected_event(subject_.user_id, connection_id_, session_seconds)}, nullptr);
  }
  spdlog::debug("{} (user {}) disconnected after {}s", connection_id_, subject_.user_id,
                session_seconds);
}

}  // namespace realtime
