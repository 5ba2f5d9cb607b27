#include "broker/redis_payload.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "protocol/frame.hpp"
#include "protocol/json_arena.hpp"
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
  if (event.earlier_rooms && !event.earlier_rooms->empty()) {
    out += ",\"earlier\":[";
    for (std::size_t i = 0; i < event.earlier_rooms->size(); ++i) {
      if (i > 0) out += ',';
      append_json_string(out, (*event.earlier_rooms)[i]);
    }
    out += ']';
  }
  out += '}';
  return out;
}

std::optional<RedisMessage> decode_redis_payload(std::string_view topic, std::string_view payload,
                                                 std::string& error) {
  JsonArena<> arena;
  json::error_code ec;
  const json::value root = json::parse(payload, ec, arena.storage());
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
  if (const json::value* offset = obj->if_contains("offset")) {
    const bool positive = (offset->is_int64() && offset->get_int64() > 0) ||
                          (offset->is_uint64() && offset->get_uint64() > 0);
    if (!positive) {
      error = "\"offset\" must be a positive integer";
      return std::nullopt;
    }
    out.offset = offset->to_number<std::uint64_t>();
  }
  if (const json::value* ex = obj->if_contains("exclude")) {
    if (!ex->is_string()) {
      error = "\"exclude\" must be a connection id";
      return std::nullopt;
    }
    out.event.exclude_connection = std::string(ex->get_string());
  }
  if (const json::value* earlier = obj->if_contains("earlier")) {
    const json::array* rooms = earlier->if_array();
    if (rooms == nullptr || rooms->size() > max_broadcast_rooms) {
      error = "\"earlier\" must be an array of at most 100 topics";
      return std::nullopt;
    }
    auto list = std::make_shared<std::vector<std::string>>();
    for (const auto& room : *rooms) {
      if (!room.is_string() || !is_valid_topic(room.get_string())) {
        error = "\"earlier\" must hold topics";
        return std::nullopt;
      }
      list->emplace_back(room.get_string());
    }
    out.event.earlier_rooms = std::move(list);
  }
  return out;
}

}  // namespace realtime
