#include "protocol/socketio/replies.hpp"

#include "protocol/frame.hpp"
#include "protocol/socketio/encode.hpp"
#include "storage/sql.hpp"

namespace realtime::socketio {
namespace {

std::string ack_with(const Reply& reply, std::string_view body) {
  return ack_message(*reply.ack_id, {body});
}

std::string success(const Reply& reply) {
  return reply.style == ReplyStyle::envelope ? "{\"success\":true}" : "{\"ok\":true}";
}

void append_error_object(std::string& out, ErrorCode code, std::string_view message) {
  out += "{\"code\":";
  append_json_string(out, to_string(code));
  out += ",\"message\":";
  append_json_string(out, message);
  out += '}';
}

}  // namespace

std::string reply_ok(const Reply& reply) {
  if (!reply.wanted()) return {};
  return ack_with(reply, success(reply));
}

std::string reply_subscribed(const Reply& reply, std::size_t member_count,
                             const SubscribedPosition* position) {
  if (!reply.wanted()) return {};
  const bool room = reply.style == ReplyStyle::envelope && !reply.room_name.empty();
  if (!room && position == nullptr) return reply_ok(reply);
  std::string fields;  // the object's members, without braces
  if (room) {
    fields += "\"roomName\":";
    append_json_string(fields, reply.room_name);
    fields += ",\"memberCount\":";
    fields += std::to_string(member_count);
  }
  if (position != nullptr) {
    if (!fields.empty()) fields += ',';
    append_position_members(fields, *position);
  }
  const std::string body = reply.style == ReplyStyle::envelope
                               ? "{\"success\":true,\"data\":{" + fields + "}}"
                               : "{\"ok\":true," + fields + "}";
  return ack_with(reply, body);
}

std::string reply_unsubscribed(const Reply& reply) { return reply_ok(reply); }

std::string reply_error(const Reply& reply, ErrorCode code, std::string_view message) {
  if (!reply.wanted()) return error_event_message(code, message);
  std::string body = reply.style == ReplyStyle::envelope ? "{\"success\":false,\"error\":"
                                                         : "{\"ok\":false,\"error\":";
  append_error_object(body, code, message);
  body += '}';
  return ack_with(reply, body);
}

std::string error_event_message(ErrorCode code, std::string_view message) {
  std::string body;
  append_error_object(body, code, message);
  return event_message("error", {body});
}

std::string reply_presences(const Reply& reply, std::span<const PresenceEntry> presences) {
  if (!reply.wanted()) return {};
  std::string body = reply.style == ReplyStyle::envelope
                         ? "{\"success\":true,\"data\":{\"presences\":["
                         : "{\"ok\":true,\"presences\":[";
  for (std::size_t i = 0; i < presences.size(); ++i) {
    const PresenceEntry& p = presences[i];
    if (i > 0) body += ',';
    body += "{\"userId\":";
    append_json_string(body, p.user_id);
    body += ",\"status\":\"";
    body += to_string(p.status);
    body += '"';
    if (p.last_seen_ms) {
      body += ",\"lastSeen\":\"";
      body += storage::format_timestamp(*p.last_seen_ms);
      body += '"';
    }
    body += '}';
  }
  body += reply.style == ReplyStyle::envelope ? "]}}" : "]}";
  return ack_with(reply, body);
}

std::string reply_ping(std::uint64_t ack_id, std::string_view timestamp_json) {
  std::string body = "{\"timestamp\":";
  body += timestamp_json.empty() ? std::string_view("null") : timestamp_json;
  body += '}';
  return ack_message(ack_id, {body});
}

}  // namespace realtime::socketio
