#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "broker/broker.hpp"
#include "protocol/error_code.hpp"

namespace realtime {

// How one kind of client speaks: protocol v1 today, Socket.IO next. The shared client logic
// (ClientSession) decides what to say; a dialect says it. Replies are payloads (the transport
// frames them); events arrive already encoded once per publish, and the dialect picks its form.
class Dialect {
 public:
  virtual ~Dialect() = default;

  virtual std::string welcome(std::string_view connection_id, std::string_view user_id,
                              int heartbeat_seconds, std::int64_t server_time_ms,
                              std::int64_t expires_at_ms) const = 0;
  // `server`: a subscription the backend made (POST /realtime/subscribe), not the client.
  virtual std::string subscribed(std::string_view id, std::string_view topic,
                                 bool server) const = 0;
  // `reason`: empty when the client asked; "forbidden" or "removed" when the server decided.
  virtual std::string unsubscribed(std::string_view id, std::string_view topic,
                                   std::string_view reason) const = 0;
  virtual std::string ack(std::string_view id) const = 0;
  virtual std::string pong(std::string_view id, std::int64_t ts_ms) const = 0;
  virtual std::string refreshed(std::string_view id, std::int64_t expires_at_ms) const = 0;
  virtual std::string error(std::string_view id, ErrorCode code,
                            std::string_view message) const = 0;
  // The wire frame of a published event for this dialect.
  virtual const FramePtr& event(const TopicFrame& item) const = 0;
};

// Protocol v1: JSON objects with a "type" (docs/protocol.md).
class V1Dialect final : public Dialect {
 public:
  std::string welcome(std::string_view connection_id, std::string_view user_id,
                      int heartbeat_seconds, std::int64_t server_time_ms,
                      std::int64_t expires_at_ms) const override;
  std::string subscribed(std::string_view id, std::string_view topic, bool server) const override;
  std::string unsubscribed(std::string_view id, std::string_view topic,
                           std::string_view reason) const override;
  std::string ack(std::string_view id) const override;
  std::string pong(std::string_view id, std::int64_t ts_ms) const override;
  std::string refreshed(std::string_view id, std::int64_t expires_at_ms) const override;
  std::string error(std::string_view id, ErrorCode code, std::string_view message) const override;
  const FramePtr& event(const TopicFrame& item) const override { return item.frame; }

  static const V1Dialect& instance();
};

}  // namespace realtime
