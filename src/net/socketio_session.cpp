#include "net/socketio_session.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>

#include <algorithm>
#include <random>
#include <unordered_map>

#include "net/shard.hpp"
#include "net/socketio_gateway.hpp"
#include "protocol/socketio/encode.hpp"
#include "protocol/socketio/engineio_packet.hpp"
#include "protocol/socketio/engineio_payload.hpp"
#include "protocol/socketio/outgoing.hpp"
#include "protocol/socketio/replies.hpp"
#include "protocol/topic.hpp"
#include "server/server_context.hpp"
#include "util/clock.hpp"
#include "ws/deflate_offer.hpp"

namespace net = boost::asio;
namespace sio = realtime::socketio;

namespace realtime {
namespace {

// Acked requests a client may have waiting for their answer; beyond, a request is refused.
constexpr std::size_t max_pending_replies = 1000;
// How long a polling session's upgrade may take (the reference server's 10 s).
constexpr auto upgrade_timeout = std::chrono::seconds(10);

std::string string_in(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

}  // namespace

SocketIoSession::SocketIoSession(Shard& shard, SocketIoGateway& gateway, std::string query_user,
                                 std::string query_role)
    : ClientSession(shard, UpgradeGrant{}), gateway_(gateway), fsm_(gateway.options()) {
  if (!query_user.empty() || !query_role.empty()) {
    query_identity_ = std::make_unique<QueryIdentity>(
        QueryIdentity{std::move(query_user), std::move(query_role)});
  }
}

SocketIoSession::~SocketIoSession() { finish(); }

net::any_io_executor SocketIoSession::executor() { return shard().io().get_executor(); }

net::io_context& SocketIoSession::io() { return shard().io(); }

// ---------------------------------------------------------------------------------------------
// Transports

std::string SocketIoSession::open_polling(std::string sid) {
  transport_ = Transport::polling;
  polling_ = std::make_unique<Polling>(std::move(sid));
  shard().track(this);
  sio::OpenParams open{polling_->sid, true, gateway_.ping_interval_ms(), gateway_.ping_timeout_ms(),
                       shard().context().config->max_message_bytes};
  return sio::encode_open(open);
}

std::unique_ptr<WsStream> SocketIoSession::make_stream(ShardSocket&& socket, std::string pending,
                                                       std::string accept_key, bool deflate) {
  auto stream = std::make_unique<WsStream>(std::move(socket), shard(), ws_owner_,
                                           shard().context().config->max_message_bytes,
                                           std::move(pending), deflate);
  std::string head =
      "HTTP/1.1 101 Switching Protocols\r\n"
      "Upgrade: websocket\r\n"
      "Connection: Upgrade\r\n"
      "Server: nself-realtime/" REALTIME_VERSION "\r\nSec-WebSocket-Accept: " +
      accept_key + "\r\n";
  if (deflate) head += "Sec-WebSocket-Extensions: " + std::string(ws::deflate_response) + "\r\n";
  head += "\r\n";
  stream->start(std::move(head));
  return stream;
}

void SocketIoSession::open_websocket(std::string_view sid, ShardSocket&& socket,
                                     std::string pending, std::string accept_key, bool deflate) {
  transport_ = Transport::websocket;
  shard().track(this);
  ws_ = make_stream(std::move(socket), std::move(pending), std::move(accept_key), deflate);
  sio::OpenParams open{sid, false, gateway_.ping_interval_ms(), gateway_.ping_timeout_ms(),
                       shard().context().config->max_message_bytes};
  ws_->send_text(sio::encode_open(open));
}

void SocketIoSession::upgrade_websocket(ShardSocket&& socket, std::string pending,
                                        std::string accept_key, bool deflate) {
  auto stream = make_stream(std::move(socket), std::move(pending), std::move(accept_key), deflate);
  if (finished_ || closing_ || transport_ != Transport::polling || polling_->probe) {
    // One upgrade per session: a second one (or one for a session that is ending) is refused.
    stream->close(1008, "no upgrade possible");
    net::post(executor(), [keep = shared_from_this(), s = std::move(stream)] {});
    return;
  }
  polling_->probe = std::move(stream);
  polling_->probe_started = Clock::now();
}

void SocketIoSession::WsOwner::on_ws_message(std::string_view payload, bool text,
                                             Clock::time_point now) {
  if (session.transport_ == Transport::polling) return session.on_upgrade_message(payload, text);
  session.last_activity_ = now;
  if (!text) return session.execute(session.fsm_.on_binary());
  session.on_packet(payload, now);
}

void SocketIoSession::WsOwner::on_ws_end() {
  // Only one stream is live at a time: the probe while polling, the transport after.
  if (session.transport_ == Transport::polling) return session.drop_probe();
  session.finish();
}

void SocketIoSession::on_upgrade_message(std::string_view payload, bool text) {
  const auto action = text ? polling_->upgrade.on_text(payload) : polling_->upgrade.on_binary();
  using Type = sio::UpgradeFsm::Action::Type;
  switch (action.type) {
    case Type::none:
      return;
    case Type::probe_answered:
      polling_->probe->send_text(action.text);
      // The client pauses polling: its waiting GET gets a noop, so it can.
      if (polling_->poll) answer_poll(std::string(sio::eio_noop_packet));
      return;
    case Type::switch_transport:
      return switch_to_websocket();
    case Type::abort:
      return drop_probe();
  }
}

void SocketIoSession::switch_to_websocket() {
  transport_ = Transport::websocket;
  ws_ = std::move(polling_->probe);
  if (polling_->poll) answer_poll(std::string(sio::eio_noop_packet));
  // What waited for the next GET goes on the WebSocket, in order, one packet per frame.
  const std::string waiting = std::exchange(polling_->outbox, {});
  std::size_t start = 0;
  while (start < waiting.size()) {
    const std::size_t end = std::min(waiting.find(sio::record_separator, start), waiting.size());
    ws_->send_text(std::string_view(waiting).substr(start, end - start));
    start = end + 1;
  }
  spdlog::debug("{} upgraded to websocket", connection_id());
}

void SocketIoSession::drop_probe() {
  if (!polling_ || !polling_->probe) return;
  polling_->probe->abort();
  // Not inside the stream's own call: destroyed once this handler returns.
  net::post(executor(), [keep = shared_from_this(), p = std::move(polling_->probe)] {});
  polling_->upgrade = {};
}

void SocketIoSession::on_poll(Respond respond) {
  if (transport_ != Transport::polling) {
    return respond({400,
                    "application/json",
                    R"({"code":3,"message":"Bad request: the session is on websocket now"})",
                    {}});
  }
  if (polling_->poll) {
    // Two GETs at once break Engine.IO's order: the reference server ends the session too.
    respond(
        {400, "application/json", R"({"code":3,"message":"Bad request: overlapping poll"})", {}});
    return close(close_code::policy, "overlapping poll");
  }
  last_activity_ = Clock::now();
  polling_->poll = std::move(respond);
  if (polling_->upgrade.answer_polls_with_noop()) {
    return answer_poll(std::string(sio::eio_noop_packet));
  }
  if (!polling_->outbox.empty() || closing_) answer_poll(std::exchange(polling_->outbox, {}));
}

void SocketIoSession::on_post(std::string body, Respond respond) {
  if (transport_ != Transport::polling || closing_) {
    return respond({400,
                    "application/json",
                    R"({"code":3,"message":"Bad request: not a polling session"})",
                    {}});
  }
  const auto now = Clock::now();
  last_activity_ = now;
  sio::PayloadLimits limits{shard().context().config->max_message_bytes, 256};
  auto decoded = sio::decode_payload(body, limits);
  if (auto* err = std::get_if<sio::PayloadDecodeError>(&decoded)) {
    const bool large = err->error == sio::PayloadError::too_large;
    respond({large ? 413 : 400,
             "application/json",
             std::string(R"({"code":3,"message":")") +
                 (large ? "payload too large" : "bad payload") + "\"}",
             {}});
    return close(close_code::policy, "bad polling payload");
  }
  respond({200, "text/html", "ok", {}});
  auto keep = shared_from_this();  // a packet may end the session
  for (const auto& packet : std::get<std::vector<sio::EioPacket>>(decoded)) {
    if (closing_) break;
    on_packet(sio::encode_eio_packet(packet.type, packet.data), now);
  }
}

void SocketIoSession::send_packet(std::string_view packet) {
  if (packet.empty() || finished_) return;
  if (transport_ == Transport::websocket) {
    if (ws_) ws_->send_text(packet);
    return;
  }
  std::string& outbox = polling_->outbox;
  if (outbox.size() + packet.size() > shard().context().config->max_queue_bytes) {
    // A polling client that does not come for its packets: the slow-consumer bound.
    shard().context().metrics->count_slow_consumer();
    outbox.clear();
    return close(close_code::slow_consumer, "slow consumer");
  }
  sio::append_to_payload(outbox, packet);
  flush_polls();
}

void SocketIoSession::send_frame(const FramePtr& ws_frame, std::string_view packet) {
  if (finished_) return;
  if (transport_ == Transport::websocket) {
    if (ws_) ws_->send(ws_frame);
    return;
  }
  send_packet(packet);
  ShardCounters::add(shard().counters().messages_delivered, 1);
}

void SocketIoSession::flush_polls() {
  // Once per loop turn: the events of one batch leave in one poll answer.
  if (!polling_->poll || polling_->flush_posted) return;
  polling_->flush_posted = true;
  net::post(executor(), [self = shared_from_this()] {
    Polling& polling = *self->polling_;
    polling.flush_posted = false;
    if (polling.poll && !polling.outbox.empty()) {
      self->answer_poll(std::exchange(polling.outbox, {}));
    }
  });
}

void SocketIoSession::answer_poll(std::string body) {
  if (!polling_ || !polling_->poll) return;
  Respond respond = std::move(*polling_->poll);
  polling_->poll.reset();
  if (body.empty()) body = std::string(sio::eio_noop_packet);
  respond({200, "text/plain; charset=UTF-8", std::move(body), {}});
  if (closing_ && transport_ == Transport::polling) finish();
}

// ---------------------------------------------------------------------------------------------
// Packets

void SocketIoSession::on_packet(std::string_view packet, Clock::time_point now) {
  // Socket.IO packets count against REALTIME_CLIENT_RATE_LIMIT like v1's frames; Engine.IO's
  // own (pongs) do not.
  if (packet.size() > 1 && packet.front() == '4' && !take_frame_budget(now)) {
    return send_packet(sio::error_event_message(
        ErrorCode::rate_limited,
        "more than REALTIME_CLIENT_RATE_LIMIT packets per second; packet dropped"));
  }
  execute(fsm_.on_text(packet));
}

void SocketIoSession::execute(sio::Action action) {
  std::visit(
      [&](auto& a) {
        using T = std::decay_t<decltype(a)>;
        if constexpr (std::is_same_v<T, sio::HeartbeatPong>) {
          awaiting_pong_ = false;
        } else if constexpr (std::is_same_v<T, sio::Send>) {
          send_packet(a.text);
        } else if constexpr (std::is_same_v<T, sio::Authenticate>) {
          authenticate(a);
        } else if constexpr (std::is_same_v<T, sio::Command>) {
          if (a.reply.wanted()) {
            if (replies_.size() >= max_pending_replies) {
              return send_packet(sio::reply_error(a.reply, ErrorCode::rate_limited,
                                                  "too many requests waiting for an answer"));
            }
            replies_.emplace_back(a.message.id, a.reply);
          }
          handle(std::move(a.message));
        } else if constexpr (std::is_same_v<T, sio::PresenceQuery>) {
          answer_presence(a);
        } else if constexpr (std::is_same_v<T, sio::Close>) {
          spdlog::debug("{} socket.io session ends: {}", connection_id(), a.detail);
          if (a.reason == sio::CloseReason::client_closed ||
              a.reason == sio::CloseReason::client_disconnected) {
            closing_ = true;
            return finish();
          }
          close(close_code::policy, a.detail);
        }
      },
      action);
}

void SocketIoSession::authenticate(const sio::Authenticate& request) {
  ServerContext& ctx = shard().context();
  const std::int64_t now = unix_seconds();
  if (request.token.empty()) {
    if (!ctx.config->dev) return refuse("missing_token");
    // Dev mode: whoever they say they are, admin unless told otherwise (like ?user= in v1).
    std::string user = string_in(request.auth, "user");
    if (user.empty()) user = string_in(request.auth, "userId");
    if (user.empty() && query_identity_) user = query_identity_->user;
    if (user.empty()) user = anonymous_user_id();
    if (!is_valid_name(user, 255)) return refuse("malformed");
    std::string role = string_in(request.auth, "role");
    if (role.empty() && query_identity_) role = query_identity_->role;
    if (role.empty()) role = "admin";
    return accept(Subject{std::move(user), std::move(role), {}, 0});
  }
  // A connection token (single use), else the user's Hasura JWT (what nchat sends).
  auto admitted = ctx.security->admit(request.token, now);
  if (auto* claims = std::get_if<ConnectionClaims>(&admitted)) {
    if (ctx.token_claims == nullptr) return accept(std::move(claims->subject));
    ctx.token_claims->claim(
        claims->jti, claims->expires_at,
        [weak = weak_from_this(), subject = claims->subject](TokenClaims::Result r) mutable {
          auto self = weak.lock();
          if (!self) return;
          net::post(self->executor(), [self, r, subject = std::move(subject)]() mutable {
            if (self->finished_ || self->closing_) return;
            if (r == TokenClaims::Result::first_use) return self->accept(std::move(subject));
            self->refuse(r == TokenClaims::Result::replayed ? "replayed" : "unavailable");
          });
        });
    return;
  }
  const AuthError& ours = std::get<AuthError>(admitted);
  const bool ours_but_unusable = ours.reason == AuthFailure::expired ||
                                 ours.reason == AuthFailure::not_yet_valid ||
                                 ours.reason == AuthFailure::replayed;
  if (ours_but_unusable || !ctx.security->has_hasura()) return refuse(to_string(ours.reason));
  // With a jwk_url a new kid waits for the key set's refetch, on the fetcher's thread.
  ctx.security->subject_from_hasura(
      request.token, string_in(request.auth, "role"), now,
      [weak = weak_from_this()](std::variant<Subject, AuthError> who) {
        auto self = weak.lock();
        if (!self) return;
        net::post(self->executor(), [self, who = std::move(who)]() mutable {
          if (self->finished_ || self->closing_) return;
          if (auto* err = std::get_if<AuthError>(&who)) return self->refuse(to_string(err->reason));
          self->accept(std::move(std::get<Subject>(who)));
        });
      });
}

void SocketIoSession::accept(Subject subject) {
  if (finished_ || closing_ || fsm_.state() != sio::ConnectionFsm::State::authenticating) return;
  set_subject(std::move(subject));
  query_identity_.reset();
  send_packet(fsm_.accept(connection_id()));
  start();
  // The user's own topic: the backend's notifications go there (nchat's `user:<id>` room). A
  // mailbox where the engine has them: no subscription for it to keep.
  if (shard().context().broker->delivers_mailboxes()) return open_mailbox();
  server_subscribe(std::string(user_topic_prefix) + user_id());
}

bool SocketIoSession::present_in(std::string_view topic) const {
  return mailbox_user(topic) != std::string_view(user_id()) && ClientSession::present_in(topic);
}

void SocketIoSession::refuse(std::string_view reason) {
  if (finished_ || closing_) return;
  spdlog::debug("{} socket.io CONNECT refused: {}", connection_id(), reason);
  shard().context().metrics->count_rejected_upgrade();
  send_packet(fsm_.refuse(reason));
}

void SocketIoSession::answer_presence(const sio::PresenceQuery& query) {
  // A user's status is folded over all their connections, whatever they speak (v1 or Socket.IO).
  shard().context().presence->users_connected(
      query.user_ids, [weak = weak_from_this(), query](std::vector<UserPresence> users) {
        auto self = weak.lock();
        if (!self) return;
        net::post(self->executor(), [self, query, users = std::move(users)] {
          if (self->finished_) return;
          std::unordered_map<std::string_view, const UserPresence*> by_id;
          for (const auto& u : users) by_id.emplace(u.user_id, &u);
          std::vector<sio::PresenceEntry> entries;
          entries.reserve(query.user_ids.size());
          for (const std::string& id : query.user_ids) {
            sio::PresenceEntry e{id, PresenceStatus::offline, std::nullopt};
            if (auto it = by_id.find(id); it != by_id.end()) {
              e.status = it->second->status;
              e.last_seen_ms = it->second->last_seen_ms;
            }
            entries.push_back(e);
          }
          self->send_packet(sio::reply_presences(query.reply, entries));
        });
      });
}

// ---------------------------------------------------------------------------------------------
// The dialect: answers and events

sio::Reply SocketIoSession::take_reply(std::string_view id) {
  auto it = std::find_if(replies_.begin(), replies_.end(),
                         [id](const auto& owed) { return owed.first == id; });
  if (it == replies_.end()) return {};
  sio::Reply reply = std::move(it->second);
  replies_.erase(it);
  return reply;
}

void SocketIoSession::reply_subscribed(std::string_view id, std::string_view topic, bool server,
                                       const SubscribedPosition* position) {
  if (id.empty()) return;  // the server's own (user:<id>, the server API): nothing to answer
  sio::Reply reply = take_reply(id);
  if (!reply.wanted()) return;
  if (reply.room_name.empty()) return send_packet(sio::reply_subscribed(reply, 0, position));
  // room:join answers with the room's member count: its present users, looked up now.
  std::optional<SubscribedPosition> kept;
  if (position != nullptr) kept = *position;
  shard().context().presence->users_in(
      topic, [weak = weak_from_this(), reply = std::move(reply),
              kept = std::move(kept)](std::vector<UserPresence> users) {
        std::size_t present = 0;
        for (const auto& u : users) present += u.status != PresenceStatus::offline ? 1 : 0;
        auto self = weak.lock();
        if (!self) return;
        net::post(self->executor(), [self, reply, present, kept] {
          if (self->finished_) return;
          self->send_packet(sio::reply_subscribed(reply, present, kept ? &*kept : nullptr));
        });
      });
}

void SocketIoSession::reply_unsubscribed(std::string_view id, std::string_view topic,
                                         std::string_view reason) {
  if (!id.empty()) return send_packet(sio::reply_unsubscribed(take_reply(id)));
  if (reason.empty()) return;
  // The server ended a subscription (forbidden, removed): an event, like v1's frame.
  std::string data = "{\"topic\":";
  append_json_string(data, topic);
  data += ",\"reason\":";
  append_json_string(data, reason);
  data += '}';
  send_packet(sio::event_message("unsubscribed", {data}));
}

void SocketIoSession::reply_ack(std::string_view id) {
  if (!id.empty()) send_packet(sio::reply_ok(take_reply(id)));
}

void SocketIoSession::reply_error(std::string_view id, ErrorCode code, std::string_view message) {
  send_packet(sio::reply_error(id.empty() ? sio::Reply{} : take_reply(id), code, message));
}

void SocketIoSession::deliver(const TopicFrame& item) {
  if (item.event.empty()) return;
  const FramePtr& frame = item.socketio.get([&]() -> FramePtr {
    const std::string text = sio::encode_published_event(item.topic, item.event, item.data, item.ts,
                                                         gateway_.options(), item.offset);
    if (text.empty()) return nullptr;  // an event name Socket.IO reserves: not for this dialect
    return std::make_shared<const std::string>(ws::encode_frame(ws::Opcode::text, text));
  });
  if (!frame) return;
  if (transport_ == Transport::websocket && ws_ && ws_->deflate()) {
    return send_frame(shard().deflated(item.socketio_deflated, frame), {});
  }
  send_frame(frame, ws::server_frame_payload(*frame));
}

// ---------------------------------------------------------------------------------------------
// Heartbeat, close, end

void SocketIoSession::sweep(Clock::time_point now, std::int64_t now_ms) {
  if (finished_) return;
  if (ws_) ws_->sweep_idle();
  const auto heartbeat = std::chrono::seconds(shard().context().config->heartbeat_seconds);
  if (polling_ && polling_->probe && now - polling_->probe_started > upgrade_timeout) {
    polling_->upgrade.on_timeout();
    drop_probe();
  }
  if (closing_) {
    // A polling session keeps its close packet for the next GET, not forever.
    if (now - last_activity_ > heartbeat) finish();
    return;
  }
  if (fsm_.state() != sio::ConnectionFsm::State::connected && now - created_ > 2 * heartbeat) {
    return close(close_code::policy, "no Socket.IO CONNECT in time");
  }
  if (awaiting_pong_ && now - last_ping_ > std::chrono::milliseconds(gateway_.ping_timeout_ms())) {
    shard().context().metrics->count_heartbeat_timeout();
    return close(close_code::heartbeat_timeout, "ping timeout");
  }
  if (!awaiting_pong_ &&
      now - last_ping_ >= std::chrono::milliseconds(gateway_.ping_interval_ms())) {
    last_ping_ = now;
    awaiting_pong_ = true;
    send_packet(sio::eio_ping_packet);
  }
  if (expires_at_ms() > 0 && now_ms >= expires_at_ms()) {
    close(close_code::unauthorized, "connection expired");
  }
}

void SocketIoSession::close(unsigned short code, std::string_view reason) {
  if (closing_ || finished_) return;
  // The server API's disconnect is Socket.IO's server-side disconnect: the client does not
  // reconnect on its own. Anything else (shutdown, expiry, heartbeat, slow consumer) closes
  // the transport, and the client reconnects.
  const bool last_word =
      code == close_code::disconnected && fsm_.state() == sio::ConnectionFsm::State::connected;
  if (last_word) send_packet(sio::disconnect_message());
  closing_ = true;
  if (transport_ == Transport::websocket) {
    if (ws_) ws_->close(code, reason, last_word);
    return;  // on_ws_end finishes
  }
  sio::append_to_payload(polling_->outbox, sio::eio_close_packet);
  if (polling_->poll) answer_poll(std::exchange(polling_->outbox, {}));
}

void SocketIoSession::finish() {
  if (finished_) return;
  // The gateway's entry may be the last owner: stay alive to the end (none in the destructor).
  auto keep = weak_from_this().lock();
  finished_ = true;
  closing_ = true;
  if (polling_ && polling_->poll) {
    Respond respond = std::move(*polling_->poll);
    polling_->poll.reset();
    respond({200, "text/plain; charset=UTF-8", std::string(sio::eio_close_packet), {}});
  }
  if (ws_ && !ws_->ended()) ws_->abort();
  if (polling_ && polling_->probe && !polling_->probe->ended()) polling_->probe->abort();
  shard().untrack(this);
  end();
  if (polling_) gateway_.forget(polling_->sid);  // a WebSocket-born session is not in its table
  shard().context().metrics->release_connection();
}

}  // namespace realtime
