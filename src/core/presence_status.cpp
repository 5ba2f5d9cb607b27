#include "core/presence_status.hpp"

namespace realtime {

std::string_view to_string(PresenceStatus s) {
  switch (s) {
    case PresenceStatus::offline:
      return "offline";
    case PresenceStatus::away:
      return "away";
    case PresenceStatus::online:
      return "online";
    case PresenceStatus::dnd:
      return "dnd";
  }
  return "offline";
}

std::optional<PresenceStatus> parse_presence_status(std::string_view s) {
  if (s == "online") return PresenceStatus::online;
  if (s == "away") return PresenceStatus::away;
  if (s == "dnd") return PresenceStatus::dnd;
  if (s == "offline") return PresenceStatus::offline;
  return std::nullopt;
}

}  // namespace realtime
