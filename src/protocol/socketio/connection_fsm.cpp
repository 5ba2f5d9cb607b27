#include "protocol/socketio/connection_fsm.hpp"

#include "protocol/socketio/encode.hpp"
#include "protocol/socketio/engineio_packet.hpp"
#include "protocol/socketio/packet.hpp"

namespace realtime::socketio {

Action ConnectionFsm::close(CloseReason reason, std::string_view detail) {
  state_ = State::closed;
  return Close{reason, detail};
}

Action ConnectionFsm::on_binary() {
  if (state_ == State::closed) return Ignored{"connection closed"};
  return close(CloseReason::binary, describe(EioError::binary));
}

Action ConnectionFsm::on_text(std::string_view packet) {
  if (state_ == State::closed) return Ignored{"connection closed"};
  auto decoded = decode_eio_packet(packet);
  if (auto* error = std::get_if<EioError>(&decoded)) {
    return close(*error == EioError::binary ? CloseReason::binary : CloseReason::protocol_error,
                 describe(*error));
  }
  const EioPacket& eio = std::get<EioPacket>(decoded);
  switch (eio.type) {
    case EioPacketType::message:
      return on_socketio(eio.data);
    case EioPacketType::pong:
      return HeartbeatPong{};
    case EioPacketType::close:
      return close(CloseReason::client_closed, "the client closed the connection");
    case EioPacketType::ping:
      // Engine.IO v4 pings from the server; "2probe" belongs to an upgrade's new WebSocket.
      return close(CloseReason::protocol_error, "invalid heartbeat direction");
    case EioPacketType::open:
      return close(CloseReason::protocol_error, "open packet from the client");
    case EioPacketType::upgrade:
    case EioPacketType::noop:
      return Ignored{"upgrade or noop on an established transport"};
  }
  return close(CloseReason::protocol_error, "unknown Engine.IO packet type");
}

Action ConnectionFsm::on_socketio(std::string_view text) {
  auto decoded = decode_sio_packet(text);
  if (auto* error = std::get_if<SioError>(&decoded)) {
    return close(*error == SioError::binary ? CloseReason::binary : CloseReason::protocol_error,
                 describe(*error));
  }
  SioPacket& packet = std::get<SioPacket>(decoded);
  const bool main = packet.nsp == main_namespace;
  switch (packet.type) {
    case SioPacketType::connect: {
      if (!main) return Send{invalid_namespace_message(packet.nsp)};
      if (state_ != State::awaiting_connect)
        return Ignored{"CONNECT while connecting or connected"};
      state_ = State::authenticating;
      Authenticate auth;
      if (boost::json::object* obj = packet.data.if_object()) auth.auth = std::move(*obj);
      if (const boost::json::value* token = auth.auth.if_contains("token")) {
        if (token->is_string()) auth.token = std::string(token->get_string());
      }
      return auth;
    }
    case SioPacketType::disconnect:
      if (!main) return Ignored{"DISCONNECT of a namespace that is not served"};
      return close(CloseReason::client_disconnected, "the client disconnected");
    case SioPacketType::event: {
      // The client never connected another namespace, so it has no business there; the
      // reference server drops such packets too.
      if (!main) return Ignored{"EVENT to a namespace that is not served"};
      // socket.io-client buffers its emits until CONNECT is answered: anything else breaks the
      // protocol ("a CONNECT packet first").
      if (state_ != State::connected)
        return close(CloseReason::protocol_error, "EVENT before CONNECT");
      auto outcome = map_event(packet, options_);
      return std::visit([](auto&& o) -> Action { return std::move(o); }, std::move(outcome));
    }
    case SioPacketType::ack:
      // The server emits nothing that asks for an ack.
      return Ignored{"ACK of nothing the server asked"};
    case SioPacketType::connect_error:
    case SioPacketType::binary_event:
    case SioPacketType::binary_ack:
      break;
  }
  return close(CloseReason::protocol_error, "a packet type only a server sends");
}

std::string ConnectionFsm::accept(std::string_view socket_id) {
  if (state_ != State::authenticating) return {};
  state_ = State::connected;
  return connect_message(socket_id);
}

std::string ConnectionFsm::refuse(std::string_view reason) {
  if (state_ != State::authenticating) return {};
  state_ = State::awaiting_connect;
  return unauthorized_message(reason);
}

}  // namespace realtime::socketio
