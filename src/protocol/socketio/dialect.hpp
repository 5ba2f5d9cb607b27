#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "protocol/client_message.hpp"
#include "protocol/socketio/packet.hpp"

namespace realtime::socketio {

struct DialectOptions {
  // nchat's event names next to the generic ones (docs/socketio.md); on by default.
  bool nchat = true;
};

inline constexpr std::size_t max_presence_query_users = 1000;

// The shape of an answer, chosen by the request's vocabulary.
enum class ReplyStyle : std::uint8_t {
  generic,   // {"ok":true} / {"ok":false,"error":{"code","message"}}
  envelope,  // nchat: {"success":true[,"data":...]} / {"success":false,"error":{"code","message"}}
};

// How to answer one request: carried next to the command through the client logic and handed
// back to the reply encoders (replies.hpp).
struct Reply {
  std::optional<std::uint64_t> ack_id;  // unset: the client asked for no answer
  ReplyStyle style = ReplyStyle::generic;
  std::string room_name;  // room:join: echoed with memberCount in the success envelope

  bool wanted() const { return ack_id.has_value(); }
  bool operator==(const Reply&) const = default;
};

// A request for the shared client logic, the same as protocol v1's. `message.id` holds the ack
// id in decimal when there is one, so logic that answers only requests with an id behaves alike.
struct Command {
  ClientMessage message;
  Reply reply;
};

// presence:get: look up these users (distinct, in request order) and answer with
// reply_presences(). The codec answers an empty list itself.
struct PresenceQuery {
  std::vector<std::string> user_ids;
  Reply reply;
};

// Answered by the codec alone (ping, a refused request): send `text`, there is nothing else to do.
struct Send {
  std::string text;
};

// Nothing to do. `reason` is static text, for debug logs.
struct Ignored {
  std::string_view reason;
};

using EventOutcome = std::variant<Command, PresenceQuery, Send, Ignored>;

// One decoded EVENT of the main namespace, mapped to what the server does with it. Pure; never
// throws. Requests with bad arguments are answered with bad_request in their style (with an
// "error" event when they asked for no ack, as v1 answers a bad frame without id). Unknown events
// are answered with bad_request when they ask for an ack (nchat-like "x:y" names in the envelope
// when nchat is on, so an awaiting emitAsync rejects at once instead of timing out) and ignored
// otherwise: nchat's client emits events this server has no use for on every connect.
EventOutcome map_event(const SioPacket& event, const DialectOptions& options);

}  // namespace realtime::socketio
