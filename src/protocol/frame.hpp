#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/error_code.hpp"

namespace realtime {

// A server -> client frame as it goes on the wire (WebSocket header + JSON), encoded once and
// shared by every session that sends it.
using FramePtr = std::shared_ptr<const std::string>;

// Appends `s` as a quoted JSON string.
void append_json_string(std::string& out, std::string_view s);
// How many bytes append_json_string(out, s) appends (quotes and escapes included).
std::size_t json_string_size(std::string_view s);

// The JSON of an event frame without its WebSocket header (encode_event_frame's payload).
std::string encode_event(std::string_view topic, std::string_view event, std::string_view data,
                         std::int64_t ts_ms);

// An event's v1 wire frame (WebSocket header + encode_event's JSON) and where its event name and
// data sit inside it, so another dialect can encode the same event without a copy. `event` is
// empty when the name needed escaping (never for a valid name).
struct EventFrame {
  FramePtr wire;
  std::string_view event;
  std::string_view data;
};
// `offset` > 0 adds "offset" (the event's place in the topic's history).
EventFrame encode_event_frame(std::string_view topic, std::string_view event, std::string_view data,
                              std::int64_t ts_ms, std::uint64_t offset = 0);
// `expires_at_ms` (Unix ms) is the connection's expiry; 0 = none, and the field is left out.
std::string encode_welcome(std::string_view connection_id, std::string_view user_id,
                           int heartbeat_seconds, std::int64_t server_time_ms,
                           std::int64_t expires_at_ms = 0);
// subscribed / unsubscribed (with topic) and ack (without). `id` is raw JSON, may be empty.
std::string encode_reply(std::string_view type, std::string_view id, std::string_view topic = {});
// Where a history topic's stream stood when a subscription began (docs/protocol.md).
struct SubscribedPosition {
  std::string epoch;
  std::uint64_t offset = 0;
  std::optional<bool> recovered;  // set when the client asked to recover (`since`)
};
// Appends `"epoch":…,"offset":…[,"recovered":…]` (members only, no braces or leading comma):
// the position as both dialects carry it.
void append_position_members(std::string& out, const SubscribedPosition& position);
// subscribed, with "server":true when the backend subscribed the connection, and the stream's
// position on a topic that keeps history.
std::string encode_subscribed(std::string_view id, std::string_view topic, bool server,
                              const SubscribedPosition* position = nullptr);
// unsubscribed, with "reason" when the server ended the subscription (forbidden, removed).
std::string encode_unsubscribed(std::string_view id, std::string_view topic,
                                std::string_view reason);
std::string encode_refreshed(std::string_view id, std::int64_t expires_at_ms);
std::string encode_pong(std::string_view id, std::int64_t ts_ms);
std::string encode_error(std::string_view id, ErrorCode code, std::string_view message);

// {"error":code,"message":...} for HTTP error responses.
std::string encode_http_error(ErrorCode code, std::string_view message);
std::string encode_http_error(std::string_view code, std::string_view message);

}  // namespace realtime
