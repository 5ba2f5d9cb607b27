#pragma once

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>

namespace realtime::socketio {

// Socket.IO packet encoders for the main namespace. Arguments are raw JSON text inserted
// verbatim (already serialized, e.g. a published event's data), so one publish is encoded once
// and the text shared by every subscriber; names and messages are escaped here.
//
// encode_* return the Socket.IO packet ("2[...]"); *_message return it inside the Engine.IO
// message packet that carries it ("42[...]"): the text of one WebSocket frame, or one record of
// a polling payload.
using RawArgs = std::span<const std::string_view>;

// CONNECT accepted: 0{"sid":...}. `sid` is the Socket.IO socket id, not the Engine.IO session id
// (which lets anyone holding it poll the session).
std::string encode_connect(std::string_view sid);
std::string connect_message(std::string_view sid);

// CONNECT_ERROR: 4[<nsp>,]{"message":...[,"data":<data_json>]}; socket.io-client raises it as
// connect_error with err.message and err.data. `data_json` is raw JSON, omitted when empty.
std::string encode_connect_error(std::string_view nsp, std::string_view message,
                                 std::string_view data_json = {});
std::string connect_error_message(std::string_view nsp, std::string_view message,
                                  std::string_view data_json = {});
// The handshake refusal: 44{"message":"unauthorized","data":{"reason":...}}.
std::string unauthorized_message(std::string_view reason);
// A CONNECT to a namespace the server does not serve, in the reference server's words.
std::string invalid_namespace_message(std::string_view nsp);

// DISCONNECT of the main namespace: the server ends the Socket.IO session (the client does not
// reconnect on its own after this one).
std::string encode_disconnect();
std::string disconnect_message();

// EVENT: 2["<event>",<arg>,...].
std::string encode_event(std::string_view event, RawArgs args);
std::string encode_event(std::string_view event, std::initializer_list<std::string_view> args);
std::string event_message(std::string_view event, RawArgs args);
std::string event_message(std::string_view event, std::initializer_list<std::string_view> args);

// ACK: 3<id>[<arg>,...].
std::string encode_ack(std::uint64_t id, RawArgs args);
std::string encode_ack(std::uint64_t id, std::initializer_list<std::string_view> args);
std::string ack_message(std::uint64_t id, RawArgs args);
std::string ack_message(std::uint64_t id, std::initializer_list<std::string_view> args);

}  // namespace realtime::socketio
