#include "protocol/frame.hpp"

#include <cassert>
#include <charconv>
#include <memory>

#include "ws/frame_codec.hpp"

namespace realtime {

void append_json_string(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  out += '"';
  for (unsigned char ch : s) {
    switch (ch) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (ch < 0x20) {
          out += "\\u00";
          out += hex[ch >> 4];
          out += hex[ch & 0xf];
        } else {
          out += static_cast<char>(ch);
        }
    }
  }
  out += '"';
}

std::size_t json_string_size(std::string_view s) {
  std::size_t n = 2;
  for (unsigned char ch : s) {
    if (ch == '"' || ch == '\\' || ch == '\n' || ch == '\r' || ch == '\t') {
      n += 2;
    } else {
      n += ch < 0x20 ? 6 : 1;
    }
  }
  return n;
}

namespace {

// An integer's decimal digits, written before the frame is sized (std::to_string would allocate
// past 15 digits).
struct Decimal {
  char digits[24];
  std::size_t size;
  template <typename Integer>
  explicit Decimal(Integer v)
      : size(std::to_chars(digits, digits + sizeof digits, v).ptr - digits) {}
  std::string_view view() const { return {digits, size}; }
};

void append_id(std::string& out, std::string_view id) {
  if (!id.empty()) {
    out += ",\"id\":";
    out += id;
  }
}

}  // namespace

EventFrame encode_event_frame(std::string_view topic, std::string_view event, std::string_view data,
                              std::int64_t ts_ms, std::uint64_t offset) {
  if (data.empty()) data = "null";
  static constexpr std::string_view head = "{\"type\":\"event\",\"topic\":";
  static constexpr std::string_view event_key = ",\"event\":";
  static constexpr std::string_view data_key = ",\"data\":";
  static constexpr std::string_view ts_key = ",\"ts\":";
  static constexpr std::string_view offset_key = ",\"offset\":";
  const Decimal ts(ts_ms);
  const Decimal at(offset);
  const std::size_t event_size = json_string_size(event);
  const std::size_t payload_size = head.size() + json_string_size(topic) + event_key.size() +
                                   event_size + data_key.size() + data.size() + ts_key.size() +
                                   ts.size + (offset > 0 ? offset_key.size() + at.size : 0) + 1;
  // The header and the payload in one exactly sized string: one allocation for the frame's bytes
  // and one for the shared_ptr's block, whatever the sizes.
  std::string wire;
  wire.reserve(10 + payload_size);
  ws::append_frame_header(wire, ws::Opcode::text, payload_size);
  wire += head;
  append_json_string(wire, topic);
  wire += event_key;
  const std::size_t event_at = wire.size() + 1;
  append_json_string(wire, event);
  const bool plain = event_size == event.size() + 2;
  wire += data_key;
  const std::size_t data_at = wire.size();
  wire += data;
  wire += ts_key;
  wire += ts.view();
  if (offset > 0) {
    wire += offset_key;
    wire += at.view();
  }
  wire += '}';
  assert(ws::server_frame_payload(wire).size() == payload_size);
  auto shared = std::make_shared<const std::string>(std::move(wire));
  const std::string_view all(*shared);
  return {shared, plain ? all.substr(event_at, event.size()) : std::string_view(),
          all.substr(data_at, data.size())};
}

std::string encode_event(std::string_view topic, std::string_view event, std::string_view data,
                         std::int64_t ts_ms) {
  return std::string(ws::server_frame_payload(*encode_event_frame(topic, event, data, ts_ms).wire));
}

std::string encode_welcome(std::string_view connection_id, std::string_view user_id,
                           int heartbeat_seconds, std::int64_t server_time_ms,
                           std::int64_t expires_at_ms) {
  std::string out = "{\"type\":\"welcome\",\"connection_id\":";
  append_json_string(out, connection_id);
  out += ",\"user_id\":";
  append_json_string(out, user_id);
  out += ",\"heartbeat_seconds\":";
  out += std::to_string(heartbeat_seconds);
  out += ",\"server_time\":";
  out += std::to_string(server_time_ms);
  if (expires_at_ms > 0) {
    out += ",\"expires_at\":";
    out += std::to_string(expires_at_ms);
  }
  out += '}';
  return out;
}

std::string encode_reply(std::string_view type, std::string_view id, std::string_view topic) {
  std::string out = "{\"type\":";
  append_json_string(out, type);
  if (!topic.empty()) {
    out += ",\"topic\":";
    append_json_string(out, topic);
  }
  append_id(out, id);
  out += '}';
  return out;
}

void append_position_members(std::string& out, const SubscribedPosition& position) {
  out += "\"epoch\":";
  append_json_string(out, position.epoch);
  out += ",\"offset\":";
  out += std::to_string(position.offset);
  if (position.recovered)
    out += *position.recovered ? ",\"recovered\":true" : ",\"recovered\":false";
}

std::string encode_subscribed(std::string_view id, std::string_view topic, bool server,
                              const SubscribedPosition* position) {
  std::string out = encode_reply("subscribed", id, topic);
  out.pop_back();
  if (server) out += ",\"server\":true";
  if (position != nullptr) {
    out += ',';
    append_position_members(out, *position);
  }
  out += '}';
  return out;
}

std::string encode_unsubscribed(std::string_view id, std::string_view topic,
                                std::string_view reason) {
  std::string out = encode_reply("unsubscribed", id, topic);
  if (!reason.empty()) {
    out.pop_back();
    out += ",\"reason\":";
    append_json_string(out, reason);
    out += '}';
  }
  return out;
}

std::string encode_refreshed(std::string_view id, std::int64_t expires_at_ms) {
  std::string out = "{\"type\":\"refreshed\"";
  append_id(out, id);
  out += ",\"expires_at\":";
  out += expires_at_ms > 0 ? std::to_string(expires_at_ms) : "null";
  out += '}';
  return out;
}

std::string encode_pong(std::string_view id, std::int64_t ts_ms) {
  std::string out = "{\"type\":\"pong\"";
  append_id(out, id);
  out += ",\"ts\":";
  out += std::to_string(ts_ms);
  out += '}';
  return out;
}

std::string encode_error(std::string_view id, ErrorCode code, std::string_view message) {
  std::string out = "{\"type\":\"error\"";
  append_id(out, id);
  out += ",\"code\":";
  append_json_string(out, to_string(code));
  out += ",\"message\":";
  append_json_string(out, message);
  out += '}';
  return out;
}

std::string encode_http_error(std::string_view code, std::string_view message) {
  std::string out = "{\"error\":";
  append_json_string(out, code);
  out += ",\"message\":";
  append_json_string(out, message);
  out += '}';
  return out;
}

std::string encode_http_error(ErrorCode code, std::string_view message) {
  return encode_http_error(to_string(code), message);
}

}  // namespace realtime
