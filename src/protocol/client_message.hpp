#pragma once

#include <string>
#include <string_view>
#include <variant>

#include "core/presence_status.hpp"
#include "protocol/error_code.hpp"

namespace realtime {

enum class ClientMessageType { subscribe, unsubscribe, publish, presence, typing, ping, refresh };

// One client -> server frame of protocol v1, validated. Only the fields its type uses are set.
struct ClientMessage {
  ClientMessageType type = ClientMessageType::ping;
  std::string id;  // the request id as raw JSON (a string or a number), empty when absent
  std::string topic;
  std::string event;
  std::string data;  // raw JSON of `data` ("null" when absent)
  PresenceStatus status = PresenceStatus::online;
  bool typing = false;    // typing: start (true) or stop
  std::string thread_id;  // typing: optional thread within the topic
  std::string token;      // refresh: a fresh connection token for the same user
};

struct ClientMessageError {
  ErrorCode code = ErrorCode::bad_request;
  std::string message;
  std::string id;  // echoed when the frame carried a usable id
};

using ClientMessageResult = std::variant<ClientMessage, ClientMessageError>;

// Never throws: anything malformed becomes a ClientMessageError.
ClientMessageResult parse_client_message(std::string_view text);

}  // namespace realtime
