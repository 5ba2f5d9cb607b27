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

// realtime.presence.changed {"user_id","old_status","new_status","topic"}.
std::optional<std::string> nchat_presence(std::string_view data, std::int64_t ts_ms) {
  auto obj = parse_object(data);
  if (!obj) return std::nullopt;
  const json::string* user = string_field(*obj, "user_id");
  const json::string* status_text = string_field(*obj, "new_status");
  auto status = status_text != nullptr ? parse_presence_status(*status_text) : std::nullopt;
  if (user == nullptr || !status) return std::nullopt;
  std::string body = "{\"userId\":";
  append_json_string(body, *user);
  body += ",\"status\":\"";
  body += to_string(*status);
  body += '"';
  if (*status == PresenceStatus::offline) {
    body += ",\"lastSeen\":\"";
    body += storage::format_timestamp(ts_ms);
    body += '"';
  }
  body += '}';
  return event_message("presence:changed", {body});
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
    }
    if (text) return std::move(*text);
  }
  return generic(topic, event, data, ts_ms, offset);
}

}  // namespace realtime::socketio
