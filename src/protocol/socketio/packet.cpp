#include "protocol/socketio/packet.hpp"

#include <boost/json/parse.hpp>

#include "protocol/socketio/reserved_events.hpp"

namespace json = boost::json;

namespace realtime::socketio {

std::string_view SioPacket::event_name() const {
  const json::array* array = data.if_array();
  if (array == nullptr || array->empty() || !array->front().is_string()) return {};
  return array->front().get_string();
}

std::size_t SioPacket::arg_count() const {
  const json::array* array = data.if_array();
  return array == nullptr || array->empty() ? 0 : array->size() - 1;
}

const json::value* SioPacket::arg(std::size_t i) const {
  const json::array* array = data.if_array();
  if (array == nullptr || i + 1 >= array->size()) return nullptr;
  return &(*array)[i + 1];
}

std::string_view describe(SioError error) {
  switch (error) {
    case SioError::empty:
      return "empty Socket.IO packet";
    case SioError::unknown_type:
      return "unknown Socket.IO packet type";
    case SioError::binary:
      return "binary attachments are not supported";
    case SioError::bad_namespace:
      return "invalid namespace";
    case SioError::bad_ack_id:
      return "invalid ack id";
    case SioError::invalid_json:
      return "payload is not valid JSON";
    case SioError::bad_payload:
      return "payload has the wrong shape for the packet type";
  }
  return "invalid Socket.IO packet";
}

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool shape_ok(SioPacketType type, const json::value& data, bool present) {
  switch (type) {
    case SioPacketType::connect:
      return !present || data.is_object();
    case SioPacketType::disconnect:
      return !present;
    case SioPacketType::event: {
      const json::array* array = data.if_array();
      return array != nullptr && !array->empty() && array->front().is_string() &&
             !is_reserved_event(array->front().get_string());
    }
    case SioPacketType::ack:
      return data.is_array();
    case SioPacketType::connect_error:
      return data.is_string() || data.is_object();
    case SioPacketType::binary_event:
    case SioPacketType::binary_ack:
      return false;
  }
  return false;
}

}  // namespace

SioDecodeResult decode_sio_packet(std::string_view text) {
  if (text.empty()) return SioError::empty;
  const char digit = text.front();
  if (digit < '0' || digit > '6') return SioError::unknown_type;
  SioPacket packet;
  packet.type = static_cast<SioPacketType>(digit - '0');
  // Refused before anything else: its attachments would follow as separate frames.
  if (packet.type == SioPacketType::binary_event || packet.type == SioPacketType::binary_ack) {
    return SioError::binary;
  }
  std::size_t i = 1;

  if (i < text.size() && text[i] == '/') {
    const std::size_t comma = text.find(',', i);
    const std::size_t end = comma == std::string_view::npos ? text.size() : comma;
    const std::string_view nsp = text.substr(i, end - i);
    if (nsp.size() > max_namespace_bytes) return SioError::bad_namespace;
    // Printable ASCII only: the namespace is echoed into CONNECT_ERROR, and a control byte (the
    // polling separator among them) must never travel back.
    for (char c : nsp) {
      if (c < 0x21 || c > 0x7e) return SioError::bad_namespace;
    }
    packet.nsp = std::string(nsp);
    i = comma == std::string_view::npos ? end : end + 1;
  }

  if (i < text.size() && is_digit(text[i])) {
    if (packet.type != SioPacketType::event && packet.type != SioPacketType::ack) {
      return SioError::bad_ack_id;
    }
    std::uint64_t id = 0;
    std::size_t digits = 0;
    for (; i < text.size() && is_digit(text[i]); ++i, ++digits) {
      // 16 digits hold every id up to max_ack_id and cannot overflow 64 bits.
      if (digits == 16) return SioError::bad_ack_id;
      id = id * 10 + static_cast<std::uint64_t>(text[i] - '0');
    }
    if (id > max_ack_id) return SioError::bad_ack_id;
    packet.ack_id = id;
  } else if (packet.type == SioPacketType::ack) {
    return SioError::bad_ack_id;
  }

  const std::string_view payload = text.substr(i);
  if (!payload.empty()) {
    json::error_code ec;
    packet.data = json::parse(payload, ec);
    if (ec) return SioError::invalid_json;
  }
  if (!shape_ok(packet.type, packet.data, !payload.empty())) return SioError::bad_payload;
  return packet;
}

}  // namespace realtime::socketio
