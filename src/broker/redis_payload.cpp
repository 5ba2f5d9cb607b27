#include "broker/redis_payload.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "protocol/frame.hpp"
#include "protocol/json_numbers.hpp"
#include "protocol/topic.hpp"

namespace json = boost::json;

namespace realtime {

std::string encode_redis_payload(const PublishedEvent& event, std::int64_t ts_ms) {
  std::string out;
  out.reserve(event.topic.size() + event.event.size() + event.data.size() + 64);
  out += "{\"topic\":";
  append_json_string(out, event.topic);
  out += ",\"event\":";
  append_json_string(out, event.event);
  out += ",\"data\":";
  out += event.data.empty() ? std::string_view("null") : std::string_view(event.data);
  out += ",\"ts\":";
  out += std::to_string(ts_ms);
  if (!event.exclude_connection.empty()) {
    out += ",\"exclude\":";
    append_json_string(out, event.exclude_connection);
  }
  out += '}';
  return out;
}

std::optional<RedisMessage> decode_redis_payload(std::string_view topic, std::string_view payload,
                                                 std::string& error) {
  json::error_code ec;
  const json::value root = json::parse(payload, ec);
  if (ec) {
    error = "not JSON: " + ec.message();
    return std::nullopt;
  }
  const json::object* obj = root.if_object();
  if (obj == nullptr) {
    error = "not a JSON object";
    return std::nullopt;
  }
  RedisMessage out;
  if (const json::value* t = obj->if_contains("topic")) {
    if (!t->is_string() || t->get_string() != topic) {
      error = "\"topic\" does not match the channel's topic";
      return std::nullopt;
    }
  }
  const json::value* event = obj->if_contains("event");
  if (event == nullptr || !event->is_string() ||
      !is_valid_name(event->get_string(), max_event_name_bytes)) {
    error = "\"event\" must be 1-200 bytes of [A-Za-z0-9_.:@/-]";
    return std::nullopt;
  }
  out.event.topic = std::string(topic);
  out.event.event = std::string(event->get_string());
  const json::value* data = obj->if_contains("data");
  if (data != nullptr && !numbers_finite(*data)) {
    error = "\"data\" holds a number beyond the range of a double";
    return std::nullopt;
  }
  out.event.data = data != nullptr ? json::serialize(*data) : "null";
  if (const json::value* ts = obj->if_contains("ts")) {
    if (!ts->is_int64() || ts->get_int64() < 0) {
      error = "\"ts\" must be Unix milliseconds";
      return std::nullopt;
    }
    out.ts_ms = ts->get_int64();
  }
  if (const json::value* ex = obj->if_contains("exclude")) {
    if (!ex->is_string()) {
      error = "\"exclude\" must be a connection id";
      return std::nullopt;
    }
    out.event.exclude_connection = std::string(ex->get_string());
  }
  return out;
}

}  // namespace realtime
