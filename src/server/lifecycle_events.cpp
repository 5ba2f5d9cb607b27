#include "server/lifecycle_events.hpp"

#include "protocol/frame.hpp"
#include "protocol/topic.hpp"

namespace realtime {

PublishedEvent client_connected_event(std::string_view user_id, std::string_view connection_id,
                                      const std::vector<std::string>& topics) {
  std::string data = "{\"user_id\":";
  append_json_string(data, user_id);
  data += ",\"connection_id\":";
  append_json_string(data, connection_id);
  data += ",\"topics\":[";
  for (std::size_t i = 0; i < topics.size(); ++i) {
    if (i > 0) data += ',';
    append_json_string(data, topics[i]);
  }
  data += "]}";
  return {std::string(events_topic), "realtime.client.connected", std::move(data), {}};
}

PublishedEvent client_disconnected_event(std::string_view user_id, std::string_view connection_id,
                                         std::int64_t session_seconds) {
  std::string data = "{\"user_id\":";
  append_json_string(data, user_id);
  data += ",\"connection_id\":";
  append_json_string(data, connection_id);
  data += ",\"session_seconds\":";
  data += std::to_string(session_seconds);
  data += '}';
  return {std::string(events_topic), "realtime.client.disconnected", std::move(data), {}};
}

namespace {

std::string presence_changed_data(const PresenceChange& c) {
  std::string data = "{\"user_id\":";
  append_json_string(data, c.user_id);
  data += ",\"old_status\":\"";
  data += to_string(c.old_status);
  data += "\",\"new_status\":\"";
  data += to_string(c.new_status);
  data += "\",\"topic\":";
  append_json_string(data, c.topic);
  data += '}';
  return data;
}

// {"topic","joins":[{"user_id","status","old_status"}],"leaves":[{"user_id","old_status"}]}
std::string presence_diff_data(const TopicPresenceUpdate& update) {
  std::string data = "{\"topic\":";
  append_json_string(data, update.topic);
  data += ",\"joins\":[";
  bool first = true;
  for (const auto& c : update.changes) {
    if (c.new_status == PresenceStatus::offline) continue;
    if (!first) data += ',';
    first = false;
    data += "{\"user_id\":";
    append_json_string(data, c.user_id);
    data += ",\"status\":\"";
    data += to_string(c.new_status);
    data += "\",\"old_status\":\"";
    data += to_string(c.old_status);
    data += "\"}";
  }
  data += "],\"leaves\":[";
  first = true;
  for (const auto& c : update.changes) {
    if (c.new_status != PresenceStatus::offline) continue;
    if (!first) data += ',';
    first = false;
    data += "{\"user_id\":";
    append_json_string(data, c.user_id);
    data += ",\"old_status\":\"";
    data += to_string(c.old_status);
    data += "\"}";
  }
  data += "]}";
  return data;
}

}  // namespace

std::vector<PublishedEvent> presence_backend_events(const std::vector<PresenceChange>& changes) {
  std::vector<PublishedEvent> events;
  events.reserve(changes.size());
  for (const auto& c : changes) {
    events.push_back(
        {std::string(events_topic), "realtime.presence.changed", presence_changed_data(c), {}});
  }
  return events;
}

PublishedEvent presence_topic_event(const TopicPresenceUpdate& update) {
  if (update.changes.size() == 1) {
    return {
        update.topic, "realtime.presence.changed", presence_changed_data(update.changes[0]), {}};
  }
  return {update.topic, "realtime.presence.diff", presence_diff_data(update), {}};
}

std::vector<PublishedEvent> typing_events(const std::vector<TypingChange>& changes) {
  std::vector<PublishedEvent> events;
  events.reserve(changes.size());
  for (const auto& c : changes) {
    std::string data = "{\"user_id\":";
    append_json_string(data, c.user_id);
    data += c.typing ? ",\"state\":\"start\",\"thread_id\":" : ",\"state\":\"stop\",\"thread_id\":";
    if (c.thread_id.empty()) {
      data += "null";
    } else {
      append_json_string(data, c.thread_id);
    }
    data += '}';
    events.push_back({c.topic, "realtime.typing", std::move(data), c.connection_id});
  }
  return events;
}

std::string backend_event_json(std::string_view event, std::string_view data, std::int64_t ts_ms,
                               std::string_view node_id) {
  std::string out = "{\"event\":";
  append_json_string(out, event);
  out += ",\"data\":";
  out += data;
  out += ",\"ts\":";
  out += std::to_string(ts_ms);
  out += ",\"node_id\":";
  append_json_string(out, node_id);
  out += '}';
  return out;
}

}  // namespace realtime
