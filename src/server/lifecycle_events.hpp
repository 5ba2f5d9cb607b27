#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/presence_coalescer.hpp"
#include "core/presence_state.hpp"
#include "core/typing_state.hpp"
#include "protocol/publish_request.hpp"

namespace realtime {

// The events the server itself publishes, as ordinary PublishedEvents: the broker delivers them
// like any other, and a clustered broker also hands those on `realtime.events` to backends.

PublishedEvent client_connected_event(std::string_view user_id, std::string_view connection_id,
                                      const std::vector<std::string>& topics);
PublishedEvent client_disconnected_event(std::string_view user_id, std::string_view connection_id,
                                         std::int64_t session_seconds);
// One `realtime.presence.changed` per change to `realtime.events`, for backends (never
// coalesced: they audit every change).
std::vector<PublishedEvent> presence_backend_events(const std::vector<PresenceChange>& changes);
// What a topic's subscribers get (PresenceCoalescer): one change is `realtime.presence.changed`
// {"user_id","old_status","new_status","topic"}; more are one `realtime.presence.diff`
// {"topic","joins":[{"user_id","status","old_status"}],"leaves":[{"user_id","old_status"}]}.
PublishedEvent presence_topic_event(const TopicPresenceUpdate& update);
// To the topic's subscribers except the typer's connection; never to `realtime.events`.
std::vector<PublishedEvent> typing_events(const std::vector<TypingChange>& changes);

// What a backend reads from `<prefix>events`: {"event","data","ts","node_id"}.
std::string backend_event_json(std::string_view event, std::string_view data, std::int64_t ts_ms,
                               std::string_view node_id);

}  // namespace realtime
