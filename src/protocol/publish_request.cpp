#include "protocol/publish_request.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "protocol/json_arena.hpp"
#include "protocol/json_numbers.hpp"
#include "protocol/topic.hpp"

namespace json = boost::json;

namespace realtime {
namespace {

PublishRequestError bad(std::string message) {
  return {ErrorCode::bad_request, std::move(message)};
}

// Validates one message object; `where` prefixes field names ("messages[3].").
std::variant<PublishedEvent, PublishRequestError> parse_message(const json::value& value,
                                                                const std::string& where,
                                                                const PublishLimits& limits) {
  const json::object* obj = value.if_object();
  // `where` is "" for a single message, "messages[i]." in a batch.
  const std::string name = where.empty() ? "message" : where.substr(0, where.size() - 1);
  if (obj == nullptr) {
    return bad(where.empty() ? "body must be a JSON object" : name + " must be an object");
  }
  const json::value* topic = obj->if_contains("topic");
  if (topic == nullptr || !topic->is_string()) {
    return bad(where + "topic is required and must be a string");
  }
  if (!is_valid_topic(topic->get_string())) {
    return bad(where + "topic must be 1-200 bytes of [A-Za-z0-9_.:@/-]");
  }
  if (is_reserved_topic(topic->get_string())) {
    return bad(where + "topic " + std::string(events_topic) +
               " is reserved for the server's lifecycle events");
  }
  const json::value* event = obj->if_contains("event");
  if (event == nullptr || !event->is_string()) {
    return bad(where + "event is required and must be a string");
  }
  if (!is_valid_name(event->get_string(), max_event_name_bytes)) {
    return bad(where + "event must be 1-200 bytes of [A-Za-z0-9_.:@/-]");
  }
  PublishedEvent out;
  out.topic = std::string(topic->get_string());
  out.event = std::string(event->get_string());
  const json::value* data = obj->if_contains("data");
  if (data != nullptr && !numbers_finite(*data)) {
    return bad(where + "data holds a number beyond the range of a double");
  }
  out.data = data != nullptr ? json::serialize(*data) : "null";
  if (out.topic.size() + out.event.size() + out.data.size() > limits.max_message_bytes) {
    return PublishRequestError{ErrorCode::message_too_large,
                               name + " is larger than " +
                                   std::to_string(limits.max_message_bytes) +
                                   " bytes (REALTIME_MAX_MESSAGE_BYTES)"};
  }
  return out;
}

}  // namespace

PublishRequestResult parse_publish_request(std::string_view body, const PublishLimits& limits) {
  JsonArena<8192> arena;
  json::error_code ec;
  json::value root = json::parse(body, ec, arena.storage());
  if (ec) return bad("body is not valid JSON: " + ec.message());
  const json::object* obj = root.if_object();
  if (obj == nullptr) return bad("body must be a JSON object");

  std::vector<PublishedEvent> events;
  if (const json::value* messages = obj->if_contains("messages")) {
    const json::array* list = messages->if_array();
    if (list == nullptr) return bad("messages must be an array");
    if (list->empty()) return bad("messages must not be empty");
    if (list->size() > limits.max_messages) {
      return PublishRequestError{ErrorCode::message_too_large,
                                 "messages holds " + std::to_string(list->size()) +
                                     " entries; at most " + std::to_string(limits.max_messages) +
                                     " per request"};
    }
    events.reserve(list->size());
    for (std::size_t i = 0; i < list->size(); ++i) {
      auto one = parse_message((*list)[i], "messages[" + std::to_string(i) + "].", limits);
      if (auto* err = std::get_if<PublishRequestError>(&one)) return std::move(*err);
      events.push_back(std::move(std::get<PublishedEvent>(one)));
    }
    return events;
  }
  auto one = parse_message(root, "", limits);
  if (auto* err = std::get_if<PublishRequestError>(&one)) return std::move(*err);
  events.push_back(std::move(std::get<PublishedEvent>(one)));
  return events;
}

}  // namespace realtime
