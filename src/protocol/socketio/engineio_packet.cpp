#include "protocol/socketio/engineio_packet.hpp"

#include "protocol/frame.hpp"

namespace realtime::socketio {

std::string_view describe(EioError error) {
  switch (error) {
    case EioError::empty:
      return "empty Engine.IO packet";
    case EioError::unknown_type:
      return "unknown Engine.IO packet type";
    case EioError::binary:
      return "binary packets are not supported";
  }
  return "invalid Engine.IO packet";
}

EioDecodeResult decode_eio_packet(std::string_view text) {
  if (text.empty()) return EioError::empty;
  const char type = text.front();
  if (type == 'b') return EioError::binary;
  if (type < '0' || type > '6') return EioError::unknown_type;
  return EioPacket{static_cast<EioPacketType>(type - '0'), text.substr(1)};
}

std::string encode_open(const OpenParams& params) {
  std::string out = "0{\"sid\":";
  append_json_string(out, params.sid);
  out += params.can_upgrade ? ",\"upgrades\":[\"websocket\"]" : ",\"upgrades\":[]";
  out += ",\"pingInterval\":";
  out += std::to_string(params.ping_interval_ms);
  out += ",\"pingTimeout\":";
  out += std::to_string(params.ping_timeout_ms);
  out += ",\"maxPayload\":";
  out += std::to_string(params.max_payload);
  out += '}';
  return out;
}

std::string encode_eio_packet(EioPacketType type, std::string_view data) {
  std::string out;
  out.reserve(1 + data.size());
  out += static_cast<char>('0' + static_cast<int>(type));
  out += data;
  return out;
}

}  // namespace realtime::socketio
