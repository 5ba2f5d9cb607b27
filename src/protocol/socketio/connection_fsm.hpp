#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include <boost/json/object.hpp>

#include "protocol/socketio/dialect.hpp"

namespace realtime::socketio {

// CONNECT of the main namespace: check the identity (asynchronously, as the I/O side likes), then
// call ConnectionFsm::accept or ::refuse and send what it returns.
struct Authenticate {
  std::string token;         // auth.token when it is a string, else empty
  boost::json::object auth;  // the whole CONNECT payload ({} when there was none)
};

// The client answered the server's ping: it is alive (reset the heartbeat timeout).
struct HeartbeatPong {};

enum class CloseReason : std::uint8_t {
  client_closed,        // Engine.IO close packet
  client_disconnected,  // Socket.IO DISCONNECT of the main namespace
  protocol_error,       // a packet that breaks the protocol: the reference server closes too
  binary,               // a binary frame or packet: not supported (docs/socketio.md)
};

// End the connection (a WebSocket close frame, or the end of the polling session). `detail` is
// static text for logs.
struct Close {
  CloseReason reason = CloseReason::protocol_error;
  std::string_view detail;
};

using Action =
    std::variant<Ignored, HeartbeatPong, Send, Authenticate, Command, PresenceQuery, Close>;

// The server side of one Engine.IO v4 + Socket.IO v5 connection (main namespace only), sans-io.
// The transport feeds it every Engine.IO packet the client sends on the session's current
// transport (a WebSocket text frame, or each record of a polling payload, in order) and executes
// what it returns:
//
//   Ignored        nothing to do
//   HeartbeatPong  the client is alive
//   Send           send `text` (an Engine.IO packet) when not empty
//   Authenticate   check the identity, then send accept(socket_id) or refuse(reason)
//   Command        run it in the shared client logic; answer with replies.hpp and its Reply
//   PresenceQuery  look the users up; answer with reply_presences
//   Close          end the connection; the machine ignores everything after
//
// The transport owns the rest: the open packet (encode_open), server pings and their timeout,
// the time a client has to CONNECT, and the upgrade (UpgradeFsm) before it feeds the new
// WebSocket's frames here.
class ConnectionFsm {
 public:
  enum class State : std::uint8_t { awaiting_connect, authenticating, connected, closed };

  explicit ConnectionFsm(DialectOptions options = {}) : options_(options) {}

  Action on_text(std::string_view packet);
  // A WebSocket binary frame.
  Action on_binary();

  // The answers to Authenticate, valid while authenticating (else ""). accept: "40{"sid":...}"
  // with the Socket.IO socket id (not the Engine.IO sid, which must stay private). refuse:
  // "44{"message":"unauthorized","data":{"reason":...}}"; the client may CONNECT again.
  std::string accept(std::string_view socket_id);
  std::string refuse(std::string_view reason);

  State state() const { return state_; }
  const DialectOptions& options() const { return options_; }

 private:
  Action close(CloseReason reason, std::string_view detail);
  Action on_socketio(std::string_view text);

  DialectOptions options_;
  State state_ = State::awaiting_connect;
};

}  // namespace realtime::socketio
