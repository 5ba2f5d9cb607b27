#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/presence_state.hpp"
#include "core/topic_registry.hpp"

namespace realtime {

// What one topic's subscribers are told at once: its net presence changes, in the order each
// user first changed. One change is a `realtime.presence.changed` event, more are one
// `realtime.presence.diff` (lifecycle_events.hpp).
struct TopicPresenceUpdate {
  std::string topic;
  std::vector<PresenceChange> changes;

  bool operator==(const TopicPresenceUpdate&) const = default;
};

// Turns a topic's burst of presence changes (N members reconnecting: N changes, each to N
// subscribers) into a few updates. Sans-io: the caller passes the time and runs a timer for
// next_deadline(); not thread-safe.
//
// Leading edge: a topic's change when no window is open goes out at once, as today's single
// event, and opens a window of `window`. Changes within it are folded per user (the first
// old_status, the last new_status; a user back where they started is dropped) and go out at the
// window's end, which opens the next window; a window that saw no change closes. So one change
// at a time keeps its latency, and a storm costs one update per topic per window.
class PresenceCoalescer {
 public:
  using Clock = std::chrono::steady_clock;
  // Whether `topic`'s subscribers get presence events at all (the rule's "presence_events").
  using EventsEnabled = std::function<bool(std::string_view topic)>;

  // Cumulative, for /metrics.
  struct Counts {
    std::uint64_t changed_events = 0;  // updates of one change
    std::uint64_t diff_events = 0;     // updates of several
    // Changes that did not go out as their own event: in a diff, folded into a later change of
    // the same user, or cancelled by one.
    std::uint64_t coalesced = 0;
    std::uint64_t muted = 0;  // changes of topics whose rule says "presence_events": false
  };

  // A window holding this many users goes out at once (and stays open): a topic's pending
  // changes, and the diff frame, stay bounded however large the topic.
  static constexpr std::size_t default_max_users = 1000;

  // `window` 0: no coalescing, every change is its own update at once.
  PresenceCoalescer(std::chrono::milliseconds window, EventsEnabled events_enabled,
                    std::size_t max_users = default_max_users);

  // Changes the engine reported at `now`; appends what goes out at once to `out`.
  void add(const std::vector<PresenceChange>& changes, Clock::time_point now,
           std::vector<TopicPresenceUpdate>& out);
  // Closes the windows that ended by `now`, appending their updates.
  void expire(Clock::time_point now, std::vector<TopicPresenceUpdate>& out);
  // Everything pending, at once, and no window left open (shutdown).
  void flush_all(std::vector<TopicPresenceUpdate>& out);

  // When expire() has something to do; nullopt while no window is open.
  std::optional<Clock::time_point> next_deadline() const;
  std::size_t open_windows() const { return windows_.size(); }
  // Users waiting in open windows, over all topics.
  std::size_t pending_users() const;
  const Counts& counts() const { return counts_; }

 private:
  struct Window {
    bool events = true;       // decided once, when the window opens
    std::size_t arrived = 0;  // changes since the window opened (0 at its end: it closes)
    std::size_t folded = 0;   // changes folded into `pending` since its last update
    std::vector<PresenceChange> pending;  // net per user, in order of their first change
    std::unordered_map<std::string, std::size_t, StringHash, std::equal_to<>> index;  // user ->
  };

  void fold(Window& window, const PresenceChange& change);
  // `window`'s pending changes as an update (when any is left), then empties it.
  void take(const std::string& topic, Window& window, std::vector<TopicPresenceUpdate>& out);

  std::chrono::milliseconds window_;
  EventsEnabled events_enabled_;
  std::size_t max_users_;
  std::unordered_map<std::string, Window, StringHash, std::equal_to<>> windows_;
  // Windows by deadline. They all last `window_` and open at non-decreasing times, so a FIFO
  // queue stays sorted.
  std::deque<std::pair<Clock::time_point, std::string>> deadlines_;
  Clock::time_point last_now_{};
  Counts counts_;
};

}  // namespace realtime
