#include "broker/user_command.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "protocol/frame.hpp"
#include "protocol/topic.hpp"

namespace json = boost::json;

namespace realtime {

std::string_view to_string(UserCommand::Kind kind) {
  switch (kind) {
    case UserCommand::Kind::subscribe:
      return "subscribe";
    case UserCommand::Kind::unsubscribe:
      return "unsubscribe";
    case UserCommand::Kind::disconnect:
      break;
  }
  return "disconnect";
}

std::string encode_user_command(const UserCommand& command, std::string_view node_id) {
  std::string out = "{\"kind\":";
  append_json_string(out, to_string(command.kind));
  out += ",\"user_id\":";
  append_json_string(out, command.user_id);
  if (!command.topic.empty()) {
    out += ",\"topic\":";
    append_json_string(out, command.topic);
  }
  if (!command.reason.empty()) {
    out += ",\"reason\":";
    append_json_string(out, command.reason);
  }
  out += ",\"node\":";
  append_json_string(out, node_id);
  out += '}';
  return out;
}

std::optional<UserCommand> decode_user_command(std::string_view text, std::string& node_id,
                                               std::string& error) {
  json::error_code ec;
  json::value root = json::parse(text, ec);
  const json::object* obj = ec ? nullptr : root.if_object();
  if (obj == nullptr) {
    error = "not a JSON object";
    return std::nullopt;
  }
  auto text_of = [&](std::string_view key) -> const json::string* {
    const json::value* v = obj->if_contains(key);
    return v != nullptr ? v->if_string() : nullptr;
  };
  UserCommand command;
  const json::string* kind = text_of("kind");
  if (kind == nullptr) {
    error = "\"kind\" is missing";
    return std::nullopt;
  }
  if (*kind == "subscribe") {
    command.kind = UserCommand::Kind::subscribe;
  } else if (*kind == "unsubscribe") {
    command.kind = UserCommand::Kind::unsubscribe;
  } else if (*kind == "disconnect") {
    command.kind = UserCommand::Kind::disconnect;
  } else {
    error = "unknown kind";
    return std::nullopt;
  }
  const json::string* user = text_of("user_id");
  if (user == nullptr || !is_valid_name(*user, 255)) {
    error = "bad user_id";
    return std::nullopt;
  }
  command.user_id = std::string(*user);
  if (command.kind != UserCommand::Kind::disconnect) {
    const json::string* topic = text_of("topic");
    if (topic == nullptr || !is_valid_topic(*topic)) {
      error = "bad topic";
      return std::nullopt;
    }
    command.topic = std::string(*topic);
  }
  if (const json::string* reason = text_of("reason")) {
    if (reason->size() > 123) {
      error = "reason longer than 123 bytes";
      return std::nullopt;
    }
    command.reason = std::string(*reason);
  }
  const json::string* node = text_of("node");
  node_id = node != nullptr ? std::string(*node) : std::string();
  return command;
}

}  // namespace realtime
