#pragma once

#include <string_view>

namespace realtime::socketio {

// Event names socket.io-client gives a meaning of its own. Its parser refuses an EVENT carrying
// one, and a parse error makes the client drop and reopen the connection: such an event must
// never be sent to it.
inline bool is_reserved_event(std::string_view name) {
  return name == "connect" || name == "connect_error" || name == "disconnect" ||
         name == "disconnecting" || name == "newListener" || name == "removeListener";
}

}  // namespace realtime::socketio
