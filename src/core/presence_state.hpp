#pragma once

#include <boost/container/small_vector.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/presence_status.hpp"
#include "core/topic_registry.hpp"

namespace realtime {

// A user's status in a topic moved from `old_status` to `new_status`.
struct PresenceChange {
  std::string user_id;
  std::string topic;
  PresenceStatus old_status = PresenceStatus::offline;
  PresenceStatus new_status = PresenceStatus::offline;

  bool operator==(const PresenceChange&) const = default;
};

struct UserPresence {
  std::string user_id;
  PresenceStatus status = PresenceStatus::offline;
  int connections = 0;                       // the user's connections subscribed to the topic
  std::optional<std::int64_t> last_seen_ms;  // Unix ms; unset for present users (seen now)
};

// A user's node-wide state: folded status over all their connections, and how many there are.
struct UserSummary {
  PresenceStatus status = PresenceStatus::offline;
  int connections = 0;

  bool operator==(const UserSummary&) const = default;
};

// Who is present where, folded per user over all of their connections (dnd > online > away;
// offline when none is left), and which of those facts changed. Pure: no I/O, no locking.
//
// A user is present in a topic while at least one of their connections subscribes to it; their
// status there is their status across all connections. Every mutator returns exactly the changes
// it caused, one per (user, topic), so a second tab or closing one of two tabs emits nothing.
class PresenceState {
 public:
  void connect(std::string_view connection_id, std::string_view user_id,
               PresenceStatus status = PresenceStatus::online);
  std::vector<PresenceChange> set_status(std::string_view connection_id, PresenceStatus status);
  std::vector<PresenceChange> join(std::string_view connection_id, std::string_view topic);
  std::vector<PresenceChange> leave(std::string_view connection_id, std::string_view topic);
  std::vector<PresenceChange> disconnect(std::string_view connection_id);

  std::vector<UserPresence> users_in(std::string_view topic) const;
  PresenceStatus status_of(std::string_view user_id) const;
  // Offline with 0 connections for a user without any.
  UserSummary summary_of(std::string_view user_id) const;
  // The user of a connection; empty when the connection is unknown.
  std::string user_of(std::string_view connection_id) const;
  // Every user with a connection.
  std::vector<std::string> users() const;
  std::size_t connection_count() const { return connections_.size(); }
  std::size_t user_count() const { return users_.size(); }

 private:
  // Memory per connection matters (tens of thousands idle on a node): every user id and topic
  // is stored once, as the key of users_ / topics_, and the other indexes hold views of those
  // keys (a node's key never moves; an entry outlives every view of it, see the .cpp). A
  // connection is in a few topics at most: small vectors, not hash sets, holding the first topic
  // in place (most connections are in one: no allocation for it).
  using ViewSet = std::unordered_set<std::string_view, StringHash, std::equal_to<>>;
  struct Connection {
    std::string_view user_id;  // users_' key
    PresenceStatus status = PresenceStatus::online;
    boost::container::small_vector<std::string_view, 1> topics;  // topics_' keys
  };
  struct User {
    std::array<int, 4> status_counts{};  // connections per PresenceStatus
    int connections() const {
      return status_counts[0] + status_counts[1] + status_counts[2] + status_counts[3];
    }
    // topics_' key -> this user's connections in it
    boost::container::small_vector<std::pair<std::string_view, int>, 1> topics;
    PresenceStatus folded() const;
    std::pair<std::string_view, int>* find(std::string_view topic);
    const std::pair<std::string_view, int>* find(std::string_view topic) const;
  };
  // Removes one of the user's connections from `topic`; appends the offline change if it was the
  // last one.
  void leave_topic(User& user, std::string_view user_id, std::string_view topic,
                   PresenceStatus status, std::vector<PresenceChange>& out);
  // Appends a change for every topic the user is in when their folded status moved.
  static void status_moved(const User& user, std::string_view user_id, PresenceStatus before,
                           std::vector<PresenceChange>& out);

  StringMap<Connection> connections_;
  StringMap<User> users_;
  StringMap<ViewSet> topics_;  // topic -> users present (users_' keys)
};

}  // namespace realtime
