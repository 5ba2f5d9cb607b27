#pragma once

#include <string_view>

namespace realtime {

inline constexpr std::size_t max_topic_bytes = 200;

// Topic names: 1-200 bytes of [A-Za-z0-9_.:@/-].
bool is_valid_topic(std::string_view topic);

// The topic of the server's lifecycle events: the server publishes there, nobody else.
inline constexpr std::string_view events_topic = "realtime.events";
inline bool is_reserved_topic(std::string_view topic) { return topic == events_topic; }

// Event names and user ids share the rule, with their own length limit. Keeping them to this
// charset means they never need escaping and can't smuggle anything into logs.
bool is_valid_name(std::string_view name, std::size_t max_bytes);

}  // namespace realtime
