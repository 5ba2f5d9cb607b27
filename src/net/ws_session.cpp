#include "net/ws_session.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/websocket.hpp>

#include "net/shard.hpp"
#include "protocol/topic.hpp"
#include "server/server_context.hpp"
#include "util/clock.hpp"

namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
namespace net = boost::asio;

namespace realtime {
namespace {

// How long a closing handshake may take before the socket is simply closed: a slow consumer
// that never reads again must not pin its connection.
constexpr auto close_deadline = std::chrono::seconds(5);

}  // namespace

WsSession::WsSession(net::ip::tcp::socket&& socket, Shard& shard, UpgradeGrant grant)
    : ws_(std::move(socket)),
      shard_(shard),
      grant_(std::move(grant)),
      connection_id_(shard.context().next_connection_id()),
      rate_limiter_(shard.context().config->client_rate_limit,
                    10.0 * shard.context().config->client_rate_limit, last_activity_) {}

WsSession::~WsSession() { finish(); }

void WsSession::run(Request request) {
  const Config& config = *shard_.context().config;
  ws_.set_option(websocket::stream_base::timeout{std::chrono::seconds(10),
                                                 websocket::stream_base::none(), false});
  ws_.read_message_max(config.max_message_bytes);
  ws_.auto_fragment(false);
  ws_.text(true);
  ws_.set_option(websocket::stream_base::decorator(
      [subprotocol = grant_.subprotocol](websocket::response_type& res) {
        res.set(beast::http::field::server, "nself-realtime/" REALTIME_VERSION);
        if (subprotocol) res.set(beast::http::field::sec_websocket_protocol, subprotocol_v1);
      }));
  // Control frames count as activity: a client library's own pings keep the connection alive.
  ws_.control_callback([this](websocket::frame_type, beast::string_view) {
    last_activity_ = std::chrono::steady_clock::now();
  });
  ws_.async_accept(request, beast::bind_front_handler(&WsSession::on_accept, shared_from_this()));
}

void WsSession::on_accept(beast::error_code ec) {
  if (ec) {
    spdlog::debug("websocket handshake failed: {}", ec.message());
    return finish();
  }
  ServerContext& ctx = shard_.context();
  accepted_ = true;
  last_activity_ = connected_at_ = std::chrono::steady_clock::now();
  shard_.attach(this);
  ctx.presence->connect(connection_id_, grant_.subject.user_id);
  send_text(encode_welcome(connection_id_, grant_.subject.user_id, ctx.config->heartbeat_seconds,
                           unix_millis()));
  for (const auto& topic : grant_.topics) subscribe(topic, {});
  grant_.topics.clear();
  grant_.topics.shrink_to_fit();
  do_read();
}

void WsSession::do_read() {
  ws_.async_read(buffer_, beast::bind_front_handler(&WsSession::on_read, shared_from_this()));
}

void WsSession::on_read(beast::error_code ec, std::size_t bytes) {
  if (ec) {
    // Includes message_too_big, for which Beast has already sent close 1009.
    if (ec != websocket::error::closed)
      spdlog::debug("{} read ended: {}", connection_id_, ec.message());
    return finish();
  }
  last_activity_ = std::chrono::steady_clock::now();
  if (!rate_limiter_.try_take(last_activity_)) {
    // Dropped unparsed: a flood must cost the server as little as possible.
    send_error({}, ErrorCode::rate_limited,
               "more than REALTIME_CLIENT_RATE_LIMIT frames per second; frame dropped");
  } else if (!ws_.got_text()) {
    send_error({}, ErrorCode::bad_request,
               "binary frames are not supported: send JSON text frames");
  } else {
    const auto data = buffer_.cdata();
    on_message(std::string_view(static_cast<const char*>(data.data()), data.size()));
  }
  buffer_.consume(bytes);
  // One large message must not pin its buffer for the life of an idle connection.
  if (buffer_.capacity() > 16 * 1024) buffer_.shrink_to_fit();
  do_read();
}

void WsSession::on_message(std::string_view text) {
  auto parsed = parse_client_message(text);
  if (auto* err = std::get_if<ClientMessageError>(&parsed)) {
    return send_error(err->id, err->code, err->message);
  }
  auto& msg = std::get<ClientMessage>(parsed);
  ServerContext& ctx = shard_.context();
  switch (msg.type) {
    case ClientMessageType::subscribe:
      return subscribe(msg.topic, msg.id);
    case ClientMessageType::unsubscribe:
      return on_unsubscribe(msg);
    case ClientMessageType::publish:
      return on_publish(std::move(msg));
    case ClientMessageType::presence:
      ctx.presence->set_status(connection_id_, msg.status);
      return send_text(encode_reply("ack", msg.id));
    case ClientMessageType::ping:
      return send_text(encode_pong(msg.id, unix_millis()));
  }
}

void WsSession::subscribe(const std::string& topic, std::string_view id) {
  ServerContext& ctx = shard_.context();
  if (!is_valid_topic(topic)) {
    return send_error(id, ErrorCode::bad_request, "topic must be 1-200 bytes of [A-Za-z0-9_.:@/-]");
  }
  auto& registry = shard_.registry();
  if (registry.is_subscribed(this, topic)) {
    return send_text(encode_reply("subscribed", id, topic));
  }
  if (!ctx.security->allowed(TopicAction::subscribe, topic, grant_.subject)) {
    return send_error(id, ErrorCode::forbidden, "you may not subscribe to " + topic);
  }
  if (registry.subscription_count(this) >=
      static_cast<std::size_t>(ctx.config->max_subscriptions)) {
    return send_error(id, ErrorCode::too_many_subscriptions,
                      "this connection already has REALTIME_MAX_SUBSCRIPTIONS (" +
                          std::to_string(ctx.config->max_subscriptions) + ") subscriptions");
  }
  if (registry.subscribe(this, topic).topic_created) ctx.broker->topic_added(topic);
  shard_.counters().subscriptions.fetch_add(1, std::memory_order_relaxed);
  send_text(encode_reply("subscribed", id, topic));
  ctx.presence->join(connection_id_, topic);
}

void WsSession::on_unsubscribe(const ClientMessage& msg) {
  ServerContext& ctx = shard_.context();
  auto result = shard_.registry().unsubscribe(this, msg.topic);
  if (result.removed) {
    if (result.topic_removed) ctx.broker->topic_removed(msg.topic);
    shard_.counters().subscriptions.fetch_sub(1, std::memory_order_relaxed);
    ctx.presence->leave(connection_id_, msg.topic);
  }
  send_text(encode_reply("unsubscribed", msg.id, msg.topic));
}

void WsSession::on_publish(ClientMessage msg) {
  ServerContext& ctx = shard_.context();
  if (!ctx.security->allowed(TopicAction::publish, msg.topic, grant_.subject)) {
    return send_error(msg.id, ErrorCode::forbidden, "you may not publish to " + msg.topic);
  }
  std::vector<PublishedEvent> events;
  events.push_back({std::move(msg.topic), std::move(msg.event), std::move(msg.data)});
  ctx.broker->publish(std::move(events),
                      [self = shared_from_this(), id = std::move(msg.id)](PublishStatus status) {
                        net::post(self->ws_.get_executor(), [self, id, status] {
                          if (status != PublishStatus::ok) {
                            return self->send_error(id, ErrorCode::unavailable,
                                                    "the broker cannot accept messages now");
                          }
                          self->shard_.context().metrics->count_published(1);
                          self->send_text(encode_reply("ack", id));
                        });
                      });
}

void WsSession::send_error(std::string_view id, ErrorCode code, std::string_view message) {
  shard_.context().metrics->count_error(code);
  send_text(encode_error(id, code, message));
}

void WsSession::send_text(std::string text) {
  send(std::make_shared<const std::string>(std::move(text)));
}

void WsSession::send(const FramePtr& frame) {
  if (!accepted_ || closing_ || finished_) return;
  const ServerContext& ctx = shard_.context();
  if (queued_bytes_ + frame->size() > ctx.config->max_queue_bytes) {
    ctx.metrics->count_slow_consumer();
    spdlog::info("{} (user {}) closed: slow consumer, {} bytes unsent", connection_id_,
                 grant_.subject.user_id, queued_bytes_);
    return close(close_code::slow_consumer, "slow consumer");
  }
  queue_.push_back(frame);
  queued_bytes_ += frame->size();
  ShardCounters::add(shard_.counters().messages_delivered, 1);
  if (!writing_) do_write();
}

void WsSession::do_write() {
  writing_ = true;
  ws_.async_write(net::buffer(*queue_.front()),
                  beast::bind_front_handler(&WsSession::on_write, shared_from_this()));
}

void WsSession::on_write(beast::error_code ec, std::size_t bytes) {
  writing_ = false;
  queued_bytes_ -= queue_.front()->size();
  queue_.pop_front();
  if (ec) {
    // The read side sees the dead socket too and finishes the session.
    queue_.clear();
    queued_bytes_ = 0;
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().close(ignored);
    return;
  }
  ShardCounters::add(shard_.counters().bytes_out, bytes);
  if (!queue_.empty() && !closing_) do_write();
}

void WsSession::close(unsigned short code, std::string_view reason) {
  if (!accepted_ || closing_ || finished_) return;
  closing_ = true;
  // Drop what is unsent, but keep the frame being written: Beast still reads from it.
  while (queue_.size() > (writing_ ? 1u : 0u)) {
    queued_bytes_ -= queue_.back()->size();
    queue_.pop_back();
  }
  arm_close_deadline();
  websocket::close_reason why;
  why.code = code;
  why.reason.assign(reason.data(), std::min(reason.size(), why.reason.max_size()));
  ws_.async_close(why, [self = shared_from_this()](beast::error_code) {});
}

void WsSession::arm_close_deadline() {
  close_deadline_ = std::make_unique<net::steady_timer>(ws_.get_executor(), close_deadline);
  close_deadline_->async_wait([self = shared_from_this()](beast::error_code ec) {
    if (ec || self->finished_) return;
    beast::error_code ignored;
    beast::get_lowest_layer(self->ws_).socket().close(ignored);
  });
}

void WsSession::finish() {
  if (finished_) return;
  finished_ = true;
  ServerContext& ctx = shard_.context();
  if (accepted_) {
    shard_.detach(this);
    // After the shards stopped the broker may already be gone: nothing is left to notify.
    const bool notify = !ctx.stopped.load();
    shard_.registry().unsubscribe_all(this, [&](std::string_view topic, bool topic_removed) {
      shard_.counters().subscriptions.fetch_sub(1, std::memory_order_relaxed);
      if (topic_removed && notify) ctx.broker->topic_removed(topic);
    });
    if (notify) ctx.presence->disconnect(connection_id_);
    spdlog::debug("{} (user {}) disconnected after {}s", connection_id_, grant_.subject.user_id,
                  std::chrono::duration_cast<std::chrono::seconds>(
                      std::chrono::steady_clock::now() - connected_at_)
                      .count());
  }
  if (close_deadline_) close_deadline_->cancel();
  ctx.metrics->release_connection();
}

}  // namespace realtime
