#include "server/routes/broadcast_routes.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>

#include "protocol/frame.hpp"
#include "protocol/json_arena.hpp"
#include "protocol/topic.hpp"
#include "server/routes/route_helpers.hpp"

namespace json = boost::json;

namespace realtime {
namespace {

constexpr std::string_view broadcast_path = "/api/broadcast";
constexpr std::string_view batch_path = "/api/broadcast/batch";

// nchat reads `success`; the rest is this server's usual error body.
HttpResponse failure(Metrics& metrics, int status, ErrorCode code, std::string_view message) {
  metrics.count_error(code);
  std::string body = "{\"success\":false,\"error\":";
  append_json_string(body, to_string(code));
  body += ",\"message\":";
  append_json_string(body, message);
  body += '}';
  return {status, "application/json", std::move(body), {}};
}

struct Broadcast {
  std::string event;
  std::vector<std::string> rooms;
  std::string data;
};

// One {eventType, rooms|roomNames, payload} object; an error message, or empty when it is fine.
std::string read_broadcast(const json::object& obj, std::string_view rooms_key, Broadcast& out) {
  const json::value* type = obj.if_contains("eventType");
  if (type == nullptr || !type->is_string() ||
      !is_valid_name(type->get_string(), max_event_name_bytes)) {
    return "eventType is required: 1-200 bytes of [A-Za-z0-9_.:@/-]";
  }
  out.event = std::string(type->get_string());
  const json::value* rooms = obj.if_contains(rooms_key);
  const json::array* list = rooms != nullptr ? rooms->if_array() : nullptr;
  if (list == nullptr || list->empty() || list->size() > max_broadcast_rooms) {
    return std::string(rooms_key) + " must be an array of 1-100 topics";
  }
  for (const auto& r : *list) {
    if (!r.is_string() || !is_valid_topic(r.get_string()) || is_reserved_topic(r.get_string())) {
      return std::string(rooms_key) + " must hold topics of 1-200 bytes of [A-Za-z0-9_.:@/-]";
    }
    std::string room(r.get_string());
    if (std::find(out.rooms.begin(), out.rooms.end(), room) == out.rooms.end()) {
      out.rooms.push_back(std::move(room));
    }
  }
  const json::value* payload = obj.if_contains("payload");
  out.data = payload != nullptr ? json::serialize(*payload) : "null";
  return {};
}

}  // namespace

std::vector<PublishedEvent> broadcast_events(const std::vector<std::string>& rooms,
                                             const std::string& event, const std::string& data) {
  std::vector<PublishedEvent> out;
  out.reserve(rooms.size());
  for (std::size_t i = 0; i < rooms.size(); ++i) {
    PublishedEvent e{rooms[i], event, data, {}, nullptr};
    if (i > 0) {
      e.earlier_rooms =
          std::make_shared<const std::vector<std::string>>(rooms.begin(), rooms.begin() + i);
    }
    out.push_back(std::move(e));
  }
  return out;
}

bool BroadcastRoutes::handles(std::string_view path) {
  return path == broadcast_path || path == batch_path;
}

void BroadcastRoutes::handle(const HttpRequest& request, std::string_view path,
                             const Respond& respond) {
  if (request.method != "POST") {
    HttpResponse r = failure(metrics_, 405, ErrorCode::bad_request, "use POST");
    r.headers.emplace_back("Allow", "POST");
    return respond(std::move(r));
  }
  if (!has_server_key(config_, request)) {
    HttpResponse r = missing_server_key();
    r.body.insert(1, "\"success\":false,");
    return respond(std::move(r));
  }
  JsonArena<8192> arena;
  json::error_code ec;
  json::value body = json::parse(request.body, ec, arena.storage());
  const json::object* obj = ec ? nullptr : body.if_object();
  if (obj == nullptr)
    return respond(failure(metrics_, 400, ErrorCode::bad_request, "body must be a JSON object"));

  std::vector<PublishedEvent> events;
  std::shared_ptr<std::vector<std::string>> rooms;  // of a single broadcast: who received it
  std::size_t count = 0;
  const std::size_t max_bytes = config_.max_message_bytes;
  if (path == broadcast_path) {
    Broadcast b;
    if (auto err = read_broadcast(*obj, "rooms", b); !err.empty()) {
      return respond(failure(metrics_, 400, ErrorCode::bad_request, err));
    }
    if (b.data.size() > max_bytes) {
      return respond(failure(metrics_, 413, ErrorCode::message_too_large,
                             "payload is larger than REALTIME_MAX_MESSAGE_BYTES"));
    }
    events = broadcast_events(b.rooms, b.event, b.data);
    rooms = std::make_shared<std::vector<std::string>>(std::move(b.rooms));
    count = 1;
  } else {
    const json::value* list = obj->if_contains("events");
    const json::array* items = list != nullptr ? list->if_array() : nullptr;
    if (items == nullptr || items->empty() ||
        items->size() > static_cast<std::size_t>(config_.max_batch_messages)) {
      return respond(failure(metrics_, 400, ErrorCode::bad_request,
                             "events must be an array of 1-" +
                                 std::to_string(config_.max_batch_messages) + " broadcasts"));
    }
    for (std::size_t i = 0; i < items->size(); ++i) {
      const json::object* item = (*items)[i].if_object();
      Broadcast b;
      std::string err =
          item == nullptr ? "must be an object" : read_broadcast(*item, "roomNames", b);
      if (!err.empty()) {
        return respond(failure(metrics_, 400, ErrorCode::bad_request,
                               "events[" + std::to_string(i) + "]: " + err));
      }
      if (b.data.size() > max_bytes) {
        return respond(failure(
            metrics_, 413, ErrorCode::message_too_large,
            "events[" + std::to_string(i) + "].payload is larger than REALTIME_MAX_MESSAGE_BYTES"));
      }
      for (auto& e : broadcast_events(b.rooms, b.event, b.data)) events.push_back(std::move(e));
    }
    count = items->size();
  }
  broker_.publish(std::move(events), [this, respond, rooms, count](PublishStatus status) {
    if (status != PublishStatus::ok) {
      return respond(failure(metrics_, 503, ErrorCode::unavailable,
                             "the broker cannot accept messages now; nothing was published"));
    }
    metrics_.count_published(count);
    if (!rooms || !count_) {
      return respond({200,
                      "application/json",
                      "{\"success\":true,\"published\":" + std::to_string(count) + "}",
                      {}});
    }
    count_(rooms, [respond](std::size_t recipients) {
      respond({200,
               "application/json",
               "{\"success\":true,\"recipientCount\":" + std::to_string(recipients) + "}",
               {}});
    });
  });
}

}  // namespace realtime
