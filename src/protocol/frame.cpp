#include "protocol/frame.hpp"

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

namespace {

void append_id(std::string& out, std::string_view id) {
  if (!id.empty()) {
    out += ",\"id\":";
    out += id;
  }
}

}  // namespace

std::string encode_event(std::string_view topic, std::string_view event, std::string_view data,
                         std::int64_t ts_ms) {
  std::string out;
  out.reserve(48 + topic.size() + event.size() + data.size());
  out += "{\"type\":\"event\",\"topic\":";
  append_json_string(out, topic);
  out += ",\"event\":";
  append_json_string(out, event);
  out += ",\"data\":";
  out += data.empty() ? std::string_view("null") : data;
  out += ",\"ts\":";
  out += std::to_string(ts_ms);
  out += '}';
  return out;
}

EventFrame encode_event_frame(std::string_view topic, std::string_view event, std::string_view data,
                              std::int64_t ts_ms, std::uint64_t offset) {
  if (data.empty()) data = "null";
  std::string payload;
  payload.reserve(48 + topic.size() + event.size() + data.size());
  payload += "{\"type\":\"event\",\"topic\":";
  append_json_string(payload, topic);
  payload += ",\"event\":";
  const std::size_t event_at = payload.size() + 1;
  append_json_string(payload, event);
  const bool plain = payload.size() - event_at == event.size() + 1;
  payload += ",\"data\":";
  const std::size_t data_at = payload.size();
  payload += data;
  payload += ",\"ts\":";
  payload += std::to_string(ts_ms);
  if (offset > 0) {
    payload += ",\"offset\":";
    payload += std::to_string(offset);
  }
  payload += '}';
  auto wire = std::make_shared<const std::string>(ws::encode_frame(ws::Opcode::text, payload));
  const std::size_t header = wire->size() - payload.size();
  const std::string_view all(*wire);
  return {wire, plain ? all.substr(header + event_at, event.size()) : std::string_view(),
          all.substr(header + data_at, data.size())};
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
