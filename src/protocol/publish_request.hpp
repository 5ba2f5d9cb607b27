#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "protocol/error_code.hpp"

namespace realtime {

inline constexpr std::size_t max_event_name_bytes = 200;
// Rooms of one broadcast (POST /api/broadcast).
inline constexpr std::size_t max_broadcast_rooms = 100;

// One event to deliver to a topic's subscribers.
struct PublishedEvent {
  std::string topic;
  std::string event;
  std::string data;                // raw JSON
  std::string exclude_connection;  // a connection that must not receive it (a typer's own)
  // One copy of a broadcast to several rooms (POST /api/broadcast): the rooms listed before this
  // one. A connection subscribed to any of them gets the event through that room, so each
  // connection receives a broadcast once.
  std::shared_ptr<const std::vector<std::string>> earlier_rooms = nullptr;
};

struct PublishRequestError {
  ErrorCode code = ErrorCode::bad_request;  // bad_request or message_too_large
  std::string message;
};

using PublishRequestResult = std::variant<std::vector<PublishedEvent>, PublishRequestError>;

struct PublishLimits {
  std::size_t max_messages = 1000;
  std::size_t max_message_bytes = 65536;  // topic + event + serialized data of one message
};

// Parses a POST /realtime/publish body: {"topic","event","data"} or {"messages":[...]}.
// All or nothing: one bad message rejects the batch, naming its index and field.
PublishRequestResult parse_publish_request(std::string_view body, const PublishLimits& limits);

}  // namespace realtime
