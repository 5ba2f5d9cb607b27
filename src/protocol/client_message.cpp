#include "protocol/client_message.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "protocol/json_arena.hpp"
#include "protocol/json_numbers.hpp"
#include "protocol/publish_request.hpp"
#include "protocol/topic.hpp"

namespace json = boost::json;

namespace realtime {
namespace {

ClientMessageError bad(std::string message, std::string id = {}) {
  return {ErrorCode::bad_request, std::move(message), std::move(id)};
}

// A string field of `obj`, or nullptr when absent or not a string.
const json::string* string_field(const json::object& obj, std::string_view key) {
  const json::value* v = obj.if_contains(key);
  return v != nullptr ? v->if_string() : nullptr;
}

}  // namespace

bool parse_since(const json::value* since, std::optional<StreamPosition>& out, std::string& error) {
  if (since == nullptr || since->is_null()) return true;
  const json::object* obj = since->if_object();
  const json::value* offset = obj != nullptr ? obj->if_contains("offset") : nullptr;
  const json::string* epoch = obj != nullptr ? string_field(*obj, "epoch") : nullptr;
  const bool whole = offset != nullptr &&
                     ((offset->is_int64() && offset->get_int64() >= 0) || offset->is_uint64());
  if (!whole || epoch == nullptr || epoch->size() > max_epoch_bytes) {
    error =
        "\"since\" must be {\"offset\": a whole number >= 0, \"epoch\": a string of at most 64 "
        "bytes}";
    return false;
  }
  out = StreamPosition{offset->to_number<std::uint64_t>(), std::string(*epoch)};
  return true;
}

ClientMessageResult parse_client_message(std::string_view text) {
  JsonArena<> arena;
  json::error_code ec;
  json::value root = json::parse(text, ec, arena.storage());
  if (ec) return bad("frame is not valid JSON: " + ec.message());
  const json::object* obj = root.if_object();
  if (obj == nullptr) return bad("frame must be a JSON object");

  ClientMessage msg;
  if (const json::value* id = obj->if_contains("id")) {
    if (id->is_string()) {
      if (id->get_string().size() > 128) return bad("\"id\" must be at most 128 bytes");
      msg.id = json::serialize(*id);
    } else if (id->is_number() && numbers_finite(*id)) {
      msg.id = json::serialize(*id);
    } else {
      return bad("\"id\" must be a string or a number");
    }
  }

  const json::string* type = string_field(*obj, "type");
  if (type == nullptr) return bad("\"type\" is required and must be a string", msg.id);

  auto require_topic = [&]() -> std::optional<ClientMessageError> {
    const json::string* topic = string_field(*obj, "topic");
    if (topic == nullptr) return bad("\"topic\" is required and must be a string", msg.id);
    if (!is_valid_topic(*topic)) {
      return bad("\"topic\" must be 1-200 bytes of [A-Za-z0-9_.:@/-]", msg.id);
    }
    msg.topic = std::string(*topic);
    return std::nullopt;
  };

  if (*type == "subscribe" || *type == "unsubscribe") {
    msg.type = *type == "subscribe" ? ClientMessageType::subscribe : ClientMessageType::unsubscribe;
    if (auto err = require_topic()) return *err;
    std::string error;
    if (msg.type == ClientMessageType::subscribe &&
        !parse_since(obj->if_contains("since"), msg.since, error)) {
      return bad(std::move(error), msg.id);
    }
  } else if (*type == "publish") {
    msg.type = ClientMessageType::publish;
    if (auto err = require_topic()) return *err;
    if (is_reserved_topic(msg.topic)) {
      return bad(
          "topic " + std::string(events_topic) + " is reserved for the server's lifecycle events",
          msg.id);
    }
    const json::string* event = string_field(*obj, "event");
    if (event == nullptr) return bad("\"event\" is required and must be a string", msg.id);
    if (!is_valid_name(*event, max_event_name_bytes)) {
      return bad("\"event\" must be 1-200 bytes of [A-Za-z0-9_.:@/-]", msg.id);
    }
    msg.event = std::string(*event);
    const json::value* data = obj->if_contains("data");
    if (data != nullptr && !numbers_finite(*data)) {
      return bad("\"data\" holds a number beyond the range of a double", msg.id);
    }
    msg.data = data != nullptr ? json::serialize(*data) : "null";
  } else if (*type == "presence") {
    msg.type = ClientMessageType::presence;
    const json::string* status = string_field(*obj, "status");
    auto parsed = status != nullptr ? parse_presence_status(*status) : std::nullopt;
    if (!parsed || *parsed == PresenceStatus::offline) {
      return bad("\"status\" must be one of online, away, dnd", msg.id);
    }
    msg.status = *parsed;
  } else if (*type == "typing") {
    msg.type = ClientMessageType::typing;
    if (auto err = require_topic()) return *err;
    const json::string* state = string_field(*obj, "state");
    if (state == nullptr || (*state != "start" && *state != "stop")) {
      return bad("\"state\" must be start or stop", msg.id);
    }
    msg.typing = *state == "start";
    if (const json::value* thread = obj->if_contains("thread_id"); thread && !thread->is_null()) {
      // Same alphabet as topics: the id is echoed into other users' frames.
      if (!thread->is_string() || !is_valid_name(thread->get_string(), 200)) {
        return bad("\"thread_id\" must be 1-200 bytes of [A-Za-z0-9_.:@/-]", msg.id);
      }
      msg.thread_id = std::string(thread->get_string());
    }
  } else if (*type == "ping") {
    msg.type = ClientMessageType::ping;
  } else if (*type == "refresh") {
    msg.type = ClientMessageType::refresh;
    const json::string* token = string_field(*obj, "token");
    if (token == nullptr || token->empty() || token->size() > 8192) {
      return bad("\"token\" is required: a fresh connection token (POST /realtime/token)", msg.id);
    }
    msg.token = std::string(*token);
  } else {
    return bad(
        "unknown \"type\": expected subscribe, unsubscribe, publish, presence, typing, ping or "
        "refresh",
        msg.id);
  }
  return msg;
}

}  // namespace realtime
