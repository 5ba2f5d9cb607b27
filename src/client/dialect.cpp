#include "client/dialect.hpp"

#include "protocol/frame.hpp"

namespace realtime {

std::string V1Dialect::welcome(std::string_view connection_id, std::string_view user_id,
                               int heartbeat_seconds, std::int64_t server_time_ms,
                               std::int64_t expires_at_ms) const {
  return encode_welcome(connection_id, user_id, heartbeat_seconds, server_time_ms, expires_at_ms);
}

std::string V1Dialect::subscribed(std::string_view id, std::string_view topic, bool server) const {
  return encode_subscribed(id, topic, server);
}

std::string V1Dialect::unsubscribed(std::string_view id, std::string_view topic,
                                    std::string_view reason) const {
  return encode_unsubscribed(id, topic, reason);
}

std::string V1Dialect::ack(std::string_view id) const { return encode_reply("ack", id); }

std::string V1Dialect::pong(std::string_view id, std::int64_t ts_ms) const {
  return encode_pong(id, ts_ms);
}

std::string V1Dialect::refreshed(std::string_view id, std::int64_t expires_at_ms) const {
  return encode_refreshed(id, expires_at_ms);
}

std::string V1Dialect::error(std::string_view id, ErrorCode code, std::string_view message) const {
  return encode_error(id, code, message);
}

const V1Dialect& V1Dialect::instance() {
  static const V1Dialect dialect;
  return dialect;
}

}  // namespace realtime
