#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace realtime {

// How much of a topic's past the engine keeps (a rule's "history", or the REALTIME_HISTORY_*
// defaults). A size of 0 keeps nothing.
struct HistoryLimits {
  std::size_t size = 0;             // events
  std::chrono::seconds ttl{300};    // age of the oldest event kept
  std::size_t max_bytes = 1 << 20;  // memory engine: bytes of the stored frames

  bool enabled() const { return size > 0; }
  bool operator==(const HistoryLimits&) const = default;
};

// Where a client stands in a topic's stream: the offset of the last event it has, in the epoch
// it was received in.
struct StreamPosition {
  std::uint64_t offset = 0;
  std::string epoch;
};

// A history read: the events after `since`, at most `limit` (0: only the position).
struct HistoryRequest {
  std::uint64_t since = 0;
  std::size_t limit = 0;
};

// Bounds of the settings (a rule's "history", REALTIME_HISTORY_*).
inline constexpr std::size_t max_history_size = 100000;
inline constexpr std::uint64_t max_history_ttl_seconds = 30 * 24 * 3600;
inline constexpr std::size_t min_history_bytes = 1024;
inline constexpr std::size_t max_history_bytes = std::size_t{1} << 30;

// A topic's epoch and offset stay known this long after its last publish (or its ttl when that
// is longer), so a client back after a quiet hour still recovers "nothing missed".
inline constexpr std::chrono::seconds history_meta_ttl{24 * 3600};

}  // namespace realtime
