#include "net/ws_session.hpp"

#include "net/shard.hpp"
#include "protocol/frame.hpp"
#include "server/server_context.hpp"
#include "util/clock.hpp"
#include "ws/deflate_offer.hpp"

namespace net = boost::asio;

namespace realtime {

WsSession::WsSession(ShardSocket&& socket, Shard& shard, UpgradeGrant grant,
                     std::string pending_input)
    : ClientSession(shard, std::move(grant)),
      stream_(std::move(socket), shard, *this, shard.context().config->max_message_bytes,
              std::move(pending_input), this->grant().deflate) {}

WsSession::~WsSession() { finish(); }

void WsSession::run() {
  // Reads and writes are our own recv/sendmsg with MSG_DONTWAIT: the socket's mode is not asked.
  std::string response =
      "HTTP/1.1 101 Switching Protocols\r\n"
      "Upgrade: websocket\r\n"
      "Connection: Upgrade\r\n"
      "Server: nself-realtime/" REALTIME_VERSION
      "\r\n"
      "Sec-WebSocket-Accept: " +
      grant().accept_key + "\r\n";
  if (grant().subprotocol)
    response += "Sec-WebSocket-Protocol: " + std::string(subprotocol_v1) + "\r\n";
  if (grant().deflate) {
    response += "Sec-WebSocket-Extensions: " + std::string(ws::deflate_response) + "\r\n";
  }
  response += "\r\n";
  stream_.start(std::move(response));
  shard().track(this);
  start();
}

void WsSession::on_ws_message(std::string_view payload, bool text, Clock::time_point now) {
  if (!take_frame_budget(now)) {
    // Dropped unparsed: a flood must cost the server as little as possible.
    return send_error({}, ErrorCode::rate_limited,
                      "more than REALTIME_CLIENT_RATE_LIMIT frames per second; frame dropped");
  }
  if (!text) {
    return send_error({}, ErrorCode::bad_request,
                      "binary frames are not supported: send JSON text frames");
  }
  auto parsed = parse_client_message(payload);
  if (auto* err = std::get_if<ClientMessageError>(&parsed)) {
    return send_error(err->id, err->code, err->message);
  }
  handle(std::move(std::get<ClientMessage>(parsed)));
}

void WsSession::on_ws_end() { finish(); }

void WsSession::finish() {
  if (finished_) return;
  finished_ = true;
  shard().untrack(this);
  end();
  shard().context().metrics->release_connection();
}

void WsSession::send_welcome() {
  const ServerContext& ctx = shard().context();
  stream_.send_text(encode_welcome(connection_id(), user_id(), ctx.config->heartbeat_seconds,
                                   unix_millis(), expires_at_ms()));
}

void WsSession::reply_subscribed(std::string_view id, std::string_view topic, bool server,
                                 const SubscribedPosition* position) {
  stream_.send_text(encode_subscribed(id, topic, server, position));
}

void WsSession::reply_unsubscribed(std::string_view id, std::string_view topic,
                                   std::string_view reason) {
  stream_.send_text(encode_unsubscribed(id, topic, reason));
}

void WsSession::reply_ack(std::string_view id) { stream_.send_text(encode_reply("ack", id)); }

void WsSession::reply_pong(std::string_view id) {
  stream_.send_text(encode_pong(id, unix_millis()));
}

void WsSession::reply_refreshed(std::string_view id, std::int64_t expires_at_ms) {
  stream_.send_text(encode_refreshed(id, expires_at_ms));
}

void WsSession::reply_error(std::string_view id, ErrorCode code, std::string_view message) {
  stream_.send_text(encode_error(id, code, message));
}

}  // namespace realtime
