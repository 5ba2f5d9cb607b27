#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/topic_registry.hpp"

namespace realtime {

// "user_id started/stopped typing in topic": what the other subscribers of the topic are told.
// `connection_id` is the typer's connection, which does not receive its own echo.
struct TypingChange {
  std::string topic;
  std::string user_id;
  std::string thread_id;  // empty when the typing is not in a thread
  std::string connection_id;
  bool typing = false;

  bool operator==(const TypingChange&) const = default;
};

// Who is typing where, with the automatic stop after a silence and coalescing of repeated starts.
// Keyed by (topic, user): a user types in one place per topic, whichever tab it is from. Pure: no
// I/O, no locking, time passed in.
class TypingState {
 public:
  using Clock = std::chrono::steady_clock;

  // `timeout`: a start not refreshed within it stops by itself. `coalesce`: a start repeated
  // within it (same thread) only refreshes the timeout, so keystrokes never become an event storm.
  TypingState(Clock::duration timeout, Clock::duration coalesce);

  std::optional<TypingChange> start(std::string_view connection_id, std::string_view user_id,
                                    std::string_view topic, std::string_view thread_id,
                                    Clock::time_point now);
  // Only the connection that is typing can stop it; another tab's stop would lie.
  std::optional<TypingChange> stop(std::string_view connection_id, std::string_view user_id,
                                   std::string_view topic);
  std::vector<TypingChange> expire(Clock::time_point now);
  std::vector<TypingChange> disconnect(std::string_view connection_id);

  // User ids typing in `topic`, sorted.
  std::vector<std::string> typing_in(std::string_view topic) const;
  std::optional<Clock::time_point> next_expiry() const;
  std::size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    std::string connection_id;
    std::string thread_id;
    Clock::time_point expires_at;
    Clock::time_point announced_at;  // when the last start event was emitted
  };
  // topic + '\n' + user: '\n' is in neither.
  static std::string key(std::string_view topic, std::string_view user_id);
  static TypingChange change_for(const std::string& key, const Entry& e, bool typing);

  Clock::duration timeout_;
  Clock::duration coalesce_;
  std::unordered_map<std::string, Entry, StringHash, std::equal_to<>> entries_;
};

}  // namespace realtime
