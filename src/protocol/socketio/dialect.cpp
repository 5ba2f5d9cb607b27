#include "protocol/socketio/dialect.hpp"

#include <unordered_set>

#include <boost/json/serialize.hpp>

#include "protocol/json_numbers.hpp"
#include "protocol/publish_request.hpp"
#include "protocol/socketio/replies.hpp"
#include "protocol/topic.hpp"

namespace json = boost::json;

namespace realtime::socketio {
namespace {

constexpr std::size_t max_thread_id_bytes = 200;  // as v1's thread_id
constexpr std::size_t max_user_id_bytes = 255;    // as the HTTP API's and the presence table's
constexpr std::string_view channel_prefix = "channel:";

// The event's first argument as an object, or nullptr.
const json::object* object_arg(const SioPacket& event) {
  const json::value* arg = event.arg(0);
  return arg != nullptr ? arg->if_object() : nullptr;
}

const json::string* string_field(const json::object* obj, std::string_view key) {
  if (obj == nullptr) return nullptr;
  const json::value* v = obj->if_contains(key);
  return v != nullptr ? v->if_string() : nullptr;
}

// Builds outcomes for one request; knows its ack id and style.
class Request {
 public:
  Request(const SioPacket& event, ReplyStyle style) {
    reply_.ack_id = event.ack_id;
    reply_.style = style;
  }

  Reply& reply() { return reply_; }

  EventOutcome bad(std::string_view message) const {
    return Send{reply_error(reply_, ErrorCode::bad_request, message)};
  }

  Command command(ClientMessageType type) const {
    Command c;
    c.message.type = type;
    if (reply_.ack_id) c.message.id = std::to_string(*reply_.ack_id);
    c.reply = reply_;
    return c;
  }

  // `args`: the request's object argument, where a subscribe may carry "since".
  EventOutcome subscription(ClientMessageType type, std::string topic,
                            const json::object* args) const {
    if (!is_valid_topic(topic)) return bad("topic must be 1-200 bytes of [A-Za-z0-9_.:@/-]");
    Command c = command(type);
    c.message.topic = std::move(topic);
    std::string error;
    if (type == ClientMessageType::subscribe && args != nullptr &&
        !parse_since(args->if_contains("since"), c.message.since, error)) {
      return bad(error);
    }
    return c;
  }

 private:
  Reply reply_;
};

// ---------------------------------------------------------------------------------------------
// Generic vocabulary

EventOutcome generic_subscription(const SioPacket& event, ClientMessageType type) {
  Request req(event, ReplyStyle::generic);
  // The topic alone, or {topic}.
  const json::value* arg = event.arg(0);
  const json::string* topic = arg != nullptr ? arg->if_string() : nullptr;
  if (topic == nullptr) topic = string_field(object_arg(event), "topic");
  if (topic == nullptr) return req.bad("the first argument must be a topic or {\"topic\"}");
  return req.subscription(type, std::string(*topic), object_arg(event));
}

EventOutcome generic_publish(const SioPacket& event) {
  Request req(event, ReplyStyle::generic);
  const json::object* obj = object_arg(event);
  if (obj == nullptr) return req.bad("publish takes {\"topic\",\"event\",\"data\"}");
  const json::string* topic = string_field(obj, "topic");
  if (topic == nullptr || !is_valid_topic(*topic)) {
    return req.bad("\"topic\" must be 1-200 bytes of [A-Za-z0-9_.:@/-]");
  }
  if (is_reserved_topic(*topic)) {
    return req.bad("topic " + std::string(events_topic) +
                   " is reserved for the server's lifecycle events");
  }
  const json::string* name = string_field(obj, "event");
  if (name == nullptr || !is_valid_name(*name, max_event_name_bytes)) {
    return req.bad("\"event\" must be 1-200 bytes of [A-Za-z0-9_.:@/-]");
  }
  Command c = req.command(ClientMessageType::publish);
  c.message.topic = std::string(*topic);
  c.message.event = std::string(*name);
  const json::value* data = obj->if_contains("data");
  if (data != nullptr && !numbers_finite(*data)) {
    return req.bad("\"data\" holds a number beyond the range of a double");
  }
  c.message.data = data != nullptr ? json::serialize(*data) : "null";
  return c;
}

EventOutcome generic_presence(const SioPacket& event) {
  Request req(event, ReplyStyle::generic);
  const json::string* status = string_field(object_arg(event), "status");
  auto parsed = status != nullptr ? parse_presence_status(*status) : std::nullopt;
  if (!parsed || *parsed == PresenceStatus::offline) {
    return req.bad("\"status\" must be one of online, away, dnd");
  }
  Command c = req.command(ClientMessageType::presence);
  c.message.status = *parsed;
  return c;
}

// The optional thread of a typing request; false when present but invalid.
bool read_thread(const json::object* obj, std::string_view key, std::string& out) {
  const json::value* thread = obj->if_contains(key);
  if (thread == nullptr || thread->is_null()) return true;
  // Same alphabet as topics: the id is echoed into other users' frames.
  if (!thread->is_string() || !is_valid_name(thread->get_string(), max_thread_id_bytes)) {
    return false;
  }
  out = std::string(thread->get_string());
  return true;
}

EventOutcome generic_typing(const SioPacket& event) {
  Request req(event, ReplyStyle::generic);
  const json::object* obj = object_arg(event);
  const json::string* topic = string_field(obj, "topic");
  if (topic == nullptr || !is_valid_topic(*topic)) {
    return req.bad("\"topic\" must be 1-200 bytes of [A-Za-z0-9_.:@/-]");
  }
  const json::string* state = string_field(obj, "state");
  if (state == nullptr || (*state != "start" && *state != "stop")) {
    return req.bad("\"state\" must be start or stop");
  }
  Command c = req.command(ClientMessageType::typing);
  c.message.topic = std::string(*topic);
  c.message.typing = *state == "start";
  if (!read_thread(obj, "thread_id", c.message.thread_id)) {
    return req.bad("\"thread_id\" must be 1-200 bytes of [A-Za-z0-9_.:@/-]");
  }
  return c;
}

// ---------------------------------------------------------------------------------------------
// nchat

// {channelId} -> channel:<channelId>, or nullopt.
std::optional<std::string> channel_topic(const json::object* obj) {
  const json::string* id = string_field(obj, "channelId");
  if (id == nullptr || id->empty()) return std::nullopt;
  std::string topic(channel_prefix);
  topic += *id;
  if (!is_valid_topic(topic)) return std::nullopt;
  return topic;
}

constexpr std::string_view bad_channel =
    "\"channelId\" must be a string: channel:<channelId> is 1-200 bytes of [A-Za-z0-9_.:@/-]";

EventOutcome nchat_channel(const SioPacket& event, ClientMessageType type) {
  Request req(event, ReplyStyle::envelope);
  auto topic = channel_topic(object_arg(event));
  if (!topic) return req.bad(bad_channel);
  return req.subscription(type, std::move(*topic), object_arg(event));
}

EventOutcome nchat_room(const SioPacket& event, ClientMessageType type) {
  Request req(event, ReplyStyle::envelope);
  const json::string* room = string_field(object_arg(event), "roomName");
  if (room == nullptr || !is_valid_topic(*room)) {
    return req.bad("\"roomName\" must be 1-200 bytes of [A-Za-z0-9_.:@/-]");
  }
  // Echoed exactly as received: nchat routes room events by that exact name.
  if (type == ClientMessageType::subscribe) req.reply().room_name = std::string(*room);
  return req.subscription(type, std::string(*room), object_arg(event));
}

EventOutcome nchat_typing(const SioPacket& event, bool start) {
  Request req(event, ReplyStyle::envelope);
  const json::object* obj = object_arg(event);
  auto topic = channel_topic(obj);
  if (!topic) return req.bad(bad_channel);
  Command c = req.command(ClientMessageType::typing);
  c.message.topic = std::move(*topic);
  c.message.typing = start;
  if (!read_thread(obj, "threadId", c.message.thread_id)) {
    return req.bad("\"threadId\" must be 1-200 bytes of [A-Za-z0-9_.:@/-]");
  }
  return c;
}

EventOutcome nchat_presence_update(const SioPacket& event) {
  Request req(event, ReplyStyle::envelope);
  const json::string* status = string_field(object_arg(event), "status");
  std::optional<PresenceStatus> parsed;
  // nchat's older client says busy for what its live client (and this server) call dnd.
  if (status != nullptr) {
    parsed = *status == "busy" ? PresenceStatus::dnd : parse_presence_status(*status);
  }
  if (!parsed) return req.bad("\"status\" must be one of online, away, busy, dnd, offline");
  // nchat says offline right before it disconnects; the disconnect is what makes a user offline
  // (a connected one cannot be), so this is a no-op, answered when asked.
  if (*parsed == PresenceStatus::offline) {
    if (!req.reply().wanted()) return Ignored{"presence:update offline: the disconnect does it"};
    return Send{reply_ok(req.reply())};
  }
  Command c = req.command(ClientMessageType::presence);
  c.message.status = *parsed;
  return c;
}

EventOutcome nchat_presence_get(const SioPacket& event) {
  Request req(event, ReplyStyle::envelope);
  const json::object* obj = object_arg(event);
  const json::value* ids = obj != nullptr ? obj->if_contains("userIds") : nullptr;
  const json::array* list = ids != nullptr ? ids->if_array() : nullptr;
  if (list == nullptr) return req.bad("\"userIds\" must be an array of user ids");
  if (list->size() > max_presence_query_users) {
    return req.bad("\"userIds\" may list at most " + std::to_string(max_presence_query_users) +
                   " users");
  }
  // Asked for nothing to be sent back: a lookup nobody reads.
  if (!req.reply().wanted()) return Ignored{"presence:get without an ack"};
  PresenceQuery query;
  query.user_ids.reserve(list->size());
  std::unordered_set<std::string_view> seen;  // views into `event`, which outlives the loop
  for (const json::value& v : *list) {
    const json::string* id = v.if_string();
    if (id == nullptr || !is_valid_name(*id, max_user_id_bytes)) {
      return req.bad("\"userIds\" must hold user ids: 1-255 bytes of [A-Za-z0-9_.:@/-]");
    }
    if (seen.insert(std::string_view(*id)).second) query.user_ids.emplace_back(*id);
  }
  if (query.user_ids.empty()) return Send{reply_presences(req.reply(), {})};
  query.reply = req.reply();
  return query;
}

EventOutcome nchat_ping(const SioPacket& event) {
  if (!event.ack_id) return Ignored{"ping without an ack"};
  const json::object* obj = object_arg(event);
  const json::value* ts = obj != nullptr ? obj->if_contains("timestamp") : nullptr;
  const bool echo = ts != nullptr && numbers_finite(*ts);  // `Infinity` is not JSON
  return Send{reply_ping(*event.ack_id, echo ? json::serialize(*ts) : "null")};
}

EventOutcome unknown(const SioPacket& event, const DialectOptions& options) {
  if (!event.ack_id) return Ignored{"unknown event without an ack"};
  const std::string_view name = event.event_name();
  const bool nchat_like = options.nchat && name.find(':') != std::string_view::npos;
  Request req(event, nchat_like ? ReplyStyle::envelope : ReplyStyle::generic);
  // The name is echoed whole or not at all: a cut could split a UTF-8 sequence.
  if (name.size() > max_event_name_bytes) return req.bad("unknown event");
  return req.bad("unknown event \"" + std::string(name) + '"');
}

}  // namespace

EventOutcome map_event(const SioPacket& event, const DialectOptions& options) {
  const std::string_view name = event.event_name();
  if (name == "subscribe") return generic_subscription(event, ClientMessageType::subscribe);
  if (name == "unsubscribe") return generic_subscription(event, ClientMessageType::unsubscribe);
  if (name == "publish") return generic_publish(event);
  if (name == "presence") return generic_presence(event);
  if (name == "typing") return generic_typing(event);
  if (options.nchat) {
    if (name == "channel:join") return nchat_channel(event, ClientMessageType::subscribe);
    if (name == "channel:leave") return nchat_channel(event, ClientMessageType::unsubscribe);
    if (name == "room:join") return nchat_room(event, ClientMessageType::subscribe);
    if (name == "room:leave") return nchat_room(event, ClientMessageType::unsubscribe);
    if (name == "typing:start") return nchat_typing(event, true);
    if (name == "typing:stop") return nchat_typing(event, false);
    if (name == "presence:update") return nchat_presence_update(event);
    if (name == "presence:get") return nchat_presence_get(event);
    if (name == "ping") return nchat_ping(event);
  }
  return unknown(event, options);
}

}  // namespace realtime::socketio
