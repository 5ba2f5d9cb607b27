#include "server/routes/user_command_routes.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "protocol/topic.hpp"
#include "server/routes/route_helpers.hpp"
#include "ws/frame_codec.hpp"

namespace json = boost::json;

namespace realtime {
namespace {

constexpr std::string_view subscribe_path = "/realtime/subscribe";
constexpr std::string_view unsubscribe_path = "/realtime/unsubscribe";
constexpr std::string_view disconnect_path = "/realtime/disconnect";
// A close frame's reason: 125 bytes of payload less the 2-byte code.
constexpr std::size_t max_reason_bytes = 123;

}  // namespace

bool UserCommandRoutes::handles(std::string_view path) {
  return path == subscribe_path || path == unsubscribe_path || path == disconnect_path;
}

void UserCommandRoutes::handle(const HttpRequest& request, std::string_view path,
                               const Respond& respond) {
  if (request.method != "POST") {
    HttpResponse r{
        405, "application/json", "{\"error\":\"method_not_allowed\",\"message\":\"use POST\"}", {}};
    r.headers.emplace_back("Allow", "POST");
    return respond(std::move(r));
  }
  if (!has_server_key(config_, request)) return respond(missing_server_key());
  auto bad = [&](std::string_view message) {
    respond(error_response(metrics_, 400, ErrorCode::bad_request, message));
  };
  json::error_code ec;
  json::value body = json::parse(request.body, ec);
  const json::object* obj = ec ? nullptr : body.if_object();
  if (obj == nullptr) return bad("body must be a JSON object");
  UserCommand command;
  command.kind = path == subscribe_path     ? UserCommand::Kind::subscribe
                 : path == unsubscribe_path ? UserCommand::Kind::unsubscribe
                                            : UserCommand::Kind::disconnect;
  const json::value* user = obj->if_contains("user_id");
  if (user == nullptr || !user->is_string() || !is_valid_name(user->get_string(), 255)) {
    return bad("user_id is required: 1-255 bytes of [A-Za-z0-9_.:@/-]");
  }
  command.user_id = std::string(user->get_string());
  if (command.kind == UserCommand::Kind::disconnect) {
    if (const json::value* reason = obj->if_contains("reason")) {
      if (!reason->is_string() || reason->get_string().size() > max_reason_bytes ||
          ws::utf8_step(ws::utf8_accept, reason->get_string()) != ws::utf8_accept) {
        return bad("reason must be a string of at most 123 bytes (it goes in the close frame)");
      }
      command.reason = std::string(reason->get_string());
    }
  } else {
    const json::value* topic = obj->if_contains("topic");
    if (topic == nullptr || !topic->is_string() || !is_valid_topic(topic->get_string())) {
      return bad("topic is required: 1-200 bytes of [A-Za-z0-9_.:@/-]");
    }
    command.topic = std::string(topic->get_string());
    if (is_reserved_topic(command.topic)) {
      return bad("topic " + std::string(events_topic) +
                 " is the server's own; subscribe to it as an admin");
    }
  }
  if (!apply_) {
    return respond({200, "application/json", "{\"local\":0,\"broadcast\":false}", {}});
  }
  apply_(std::move(command), [respond](std::size_t local) {
    respond({200,
             "application/json",
             "{\"local\":" + std::to_string(local) + ",\"broadcast\":true}",
             {}});
  });
}

}  // namespace realtime
