#include "protocol/socketio/outgoing.hpp"

#include <optional>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "core/presence_status.hpp"
#include "protocol/frame.hpp"
#include "protocol/socketio/encode.hpp"
#include "protocol/socketio/reserved_events.hpp"
#include "protocol/topic.hpp"
#include "storage/sql.hpp"

namespace json = boost::json;

namespace realtime::socketio {
namespace {

constexpr std::string_view channel_prefix = "channel:";
constexpr std::string_view typing_event = "realtime.typing";
constexpr std::string_view presence_event = "realtime.presence.changed";
constexpr std::string_view presence_diff_event = "realtime.presence.diff";

std::string generic(std::string_view topic, std::string_view event, std::string_view data,
                    std::int64_t ts_ms, std::uint64_t offset) {
  std::string meta = "{\"topic\":";
  append_json_string(meta, topic);
  meta += ",\"ts\":";
  meta += std::to_string(ts_ms);
  if (offset > 0) {
    meta += ",\"offset\":";
    meta += std::to_string(offset);
  }
  meta += '}';
  return event_message(event, {data, meta});
}

// The data of one of the server's own events (lifecycle_events.cpp), or nullopt.
std::optional<json::object> parse_object(std::string_view data) {
  json::error_code ec;
  json::value v = json::parse(data, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.as_object());
}

const json::string* string_field(const json::object& obj, std::string_view key) {
  const json::value* v = obj.if_contains(key);
  return v != nullptr ? v->if_string() : nullptr;
}

// realtime.typing {"user_id","state","thread_id"} on channel:<id>.
std::optional<std::string> nchat_typing(std::string_view topic, std::string_view data,
                                        std::int64_t ts_ms) {
  if (!topic.starts_with(channel_prefix) || topic.size() == channel_prefix.size()) {
    return std::nullopt;
  }
  auto obj = parse_object(data);
  if (!obj) return std::nullopt;
  const json::string* user = string_field(*obj, "user_id");
  const json::string* state = string_field(*obj, "state");
  if (user == nullptr || state == nullptr || (*state != "start" && *state != "stop")) {
    return std::nullopt;
  }
  const bool start = *state == "start";
  std::string body = "{\"userId\":";
  append_json_string(body, *user);
  body += ",\"channelId\":";
  append_json_string(body, topic.substr(channel_prefix.size()));
  if (const json::string* thread = string_field(*obj, "thread_id"); thread && !thread->empty()) {
    body += ",\"threadId\":";
    append_json_string(body, *thread);
  }
  body += start ? ",\"startedAt\":\"" : ",\"stoppedAt\":\"";
  body += storage::format_timestamp(ts_ms);
  body += "\"}";
  return event_message(start ? "typing:start" : "typing:stop", {body});
}

// {"userId","status"[,"lastSeen"]}: nchat's shape of one user's presence.
void append_nchat_presence(std::string& out, std::string_view user, PresenceStatus status,
                           std::int64_t ts_ms) {
  out += "{\"userId\":";
  append_json_string(out, user);
  out += ",\"status\":\"";
  out += to_string(status);
  out += '"';
  if (status == PresenceStatus::offline) {
    out += ",\"lastSeen\":\"";
    out += storage::format_timestamp(ts_ms);
    out += '"';
  }
  out += '}';
}

// realtime.presence.changed {"user_id","old_status","new_status","topic"}.
std::optional<std::string> nchat_presence(std::string_view data, std::int64_t ts_ms) {
  auto obj = parse_object(data);
  if (!obj) return std::nullopt;
  const json::string* user = string_field(*obj, "user_id");
  const json::string* status_text = string_field(*obj, "new_status");
  auto status = status_text != nullptr ? parse_presence_status(*status_text) : std::nullopt;
  if (user == nullptr || !status) return std::nullopt;
  std::string body;
  append_nchat_presence(body, *user, *status, ts_ms);
  return event_message("presence:changed", {body});
}

// realtime.presence.diff {"topic","joins":[{"user_id","status",...}],"leaves":[{"user_id",...}]}
// as one presence:bulk: joins with their status, then leaves as offline.
std::optional<std::string> nchat_presence_diff(std::string_view data, std::int64_t ts_ms) {
  auto obj = parse_object(data);
  if (!obj) return std::nullopt;
  const json::value* joins = obj->if_contains("joins");
  const json::value* leaves = obj->if_contains("leaves");
  if (joins == nullptr || leaves == nullptr || !joins->is_array() || !leaves->is_array()) {
    return std::nullopt;
  }
  std::string body = "{\"presences\":[";
  bool first = true;
  auto add = [&](const json::value& entry, bool leave) {
    const json::object* o = entry.if_object();
    const json::string* user = o != nullptr ? string_field(*o, "user_id") : nullptr;
    if (user == nullptr) return false;
    std::optional<PresenceStatus> status = PresenceStatus::offline;
    if (!leave) {
      const json::string* text = string_field(*o, "status");
      status = text != nullptr ? parse_presence_status(*text) : std::nullopt;
      if (!status) return false;
    }
    if (!first) body += ',';
    first = false;
    append_nchat_presence(body, *user, *status, ts_ms);
    return true;
  };
  for (const auto& entry : joins->get_array()) {
    if (!add(entry, false)) return std::nullopt;
  }
  for (const auto& entry : leaves->get_array()) {
    if (!add(entry, true)) return std::nullopt;
  }
  body += "]}";
  return event_message("presence:bulk", {body});
}

}  // namespace

std::string encode_published_event(std::string_view topic, std::string_view event,
                                   std::string_view data, std::int64_t ts_ms,
                                   const DialectOptions& options, std::uint64_t offset) {
  if (is_reserved_event(event)) return {};
  if (options.nchat && !is_reserved_topic(topic)) {
    std::optional<std::string> text;
    if (event == typing_event) {
      text = nchat_typing(topic, data, ts_ms);
    } else if (event == presence_event) {
      text = nchat_presence(data, ts_ms);
    } else if (event == presence_diff_event) {
      text = nchat_presence_diff(data, ts_ms);
    }
    if (text) return std::move(*text);
  }
  return generic(topic, event, data, ts_ms, offset);
}

}  // namespace realtime::socketio
