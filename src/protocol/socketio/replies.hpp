#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/presence_status.hpp"
#include "protocol/error_code.hpp"
#include "protocol/frame.hpp"
#include "protocol/socketio/dialect.hpp"

namespace realtime::socketio {

// Answers to one request, as the Engine.IO message to send: an ACK in the request's style, or ""
// when the client asked for no answer (reply_error excepted).

// A request that succeeded: generic {"ok":true}, envelope {"success":true}.
std::string reply_ok(const Reply& reply);
// A subscription that is live. room:join answers {"success":true,"data":{"roomName",
// "memberCount"}} (the topic's present users, looked up by the I/O side); others as reply_ok.
// On a topic that keeps history the stream's position joins the answer: generic {"ok":true,
// "epoch","offset"[,"recovered"]}, envelope {"success":true,"data":{...,"epoch","offset"[,
// "recovered"]}}.
std::string reply_subscribed(const Reply& reply, std::size_t member_count,
                             const SubscribedPosition* position = nullptr);
std::string reply_unsubscribed(const Reply& reply);
// A request that failed: generic {"ok":false,"error":{"code","message"}}, envelope
// {"success":false,"error":{"code","message"}}. Without an ack id, an "error" event
// (error_event_message) so a failure is never silent, as in v1.
std::string reply_error(const Reply& reply, ErrorCode code, std::string_view message);
// 42["error",{"code":...,"message":...}]: nchat's client passes it to its error listeners.
std::string error_event_message(ErrorCode code, std::string_view message);

// One user in a presence:get answer.
struct PresenceEntry {
  std::string_view user_id;
  PresenceStatus status = PresenceStatus::offline;
  std::optional<std::int64_t> last_seen_ms;  // Unix ms, sent as ISO 8601; unset: omitted
};
// presence:get: {"success":true,"data":{"presences":[{"userId","status","lastSeen"?}]}}
// (generic style: {"ok":true,"presences":[...]}). Status names are the server's (dnd, not busy).
std::string reply_presences(const Reply& reply, std::span<const PresenceEntry> presences);

// nchat's ping: the ack is {"timestamp":<the client's value>}, raw, not the envelope.
std::string reply_ping(std::uint64_t ack_id, std::string_view timestamp_json);

}  // namespace realtime::socketio
