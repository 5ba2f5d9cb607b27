#pragma once

#include <cstdint>
#include <string>

#include "core/presence_status.hpp"

namespace realtime::storage {

// One user's last-seen state: a row of np_realtime_presence (the account id is per store).
struct PresenceRow {
  std::string user_id;
  PresenceStatus status = PresenceStatus::offline;
  std::int64_t last_seen_ms = 0;  // Unix milliseconds
  int connections = 0;

  bool operator==(const PresenceRow&) const = default;
};

// Longest user id the table holds (VARCHAR(255)).
inline constexpr std::size_t max_user_id_bytes = 255;

// Whether a user id can be stored: 1-255 bytes of valid UTF-8 without NUL (Postgres refuses
// both invalid UTF-8 and NUL in text). Ids come from tokens and, in dev mode, from ?user=.
bool storable_user_id(std::string_view user_id);

}  // namespace realtime::storage
