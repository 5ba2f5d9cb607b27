#pragma once

#include <optional>
#include <string_view>

namespace realtime {

// Ordered by precedence when folding a user's connections: dnd > online > away > offline.
enum class PresenceStatus { offline = 0, away = 1, online = 2, dnd = 3 };

std::string_view to_string(PresenceStatus s);
std::optional<PresenceStatus> parse_presence_status(std::string_view s);

}  // namespace realtime
