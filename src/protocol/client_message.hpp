#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "broker/history_types.hpp"

#include "core/presence_status.hpp"
#include "protocol/error_code.hpp"

namespace boost::json {
class value;
}

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
  // subscribe: recover what was missed after this position (a topic that keeps history)
  std::optional<StreamPosition> since;
};

struct ClientMessageError {
  ErrorCode code = ErrorCode::bad_request;
  std::string message;
  std::string id;  // echoed when the frame carried a usable id
};

using ClientMessageResult = std::variant<ClientMessage, ClientMessageError>;

// Never throws: anything malformed becomes a ClientMessageError.
ClientMessageResult parse_client_message(std::string_view text);

inline constexpr std::size_t max_epoch_bytes = 64;
// A subscribe's "since" ({"offset": N >= 0, "epoch": "..."}), shared by both dialects; null
// `since` (absent) is fine. False with `error` set when malformed.
bool parse_since(const boost::json::value* since, std::optional<StreamPosition>& out,
                 std::string& error);

}  // namespace realtime
