#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
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
  // Memory per connection matters (tens of thousands idle on a node). Every user id and topic is
  // stored once, as the key of a users_ / topics_ node, and everything else points at those
  // nodes (a node never moves; it outlives every pointer to it, see the .cpp). A topic's members
  // are a vector of user nodes, each user keeping its index there, so that a member costs 8
  // bytes, not a hash node.
  struct User;
  using UserNode = std::pair<const std::string, User>;
  using TopicNode = std::pair<const std::string, std::vector<UserNode*>>;
  struct ConnectionTopic {
    TopicNode* topic = nullptr;
  };
  struct UserTopic {
    TopicNode* topic = nullptr;
    std::uint32_t connections = 0;   // the user's connections in the topic
    std::uint32_t member_index = 0;  // where the user is in the topic's members
  };
  // A record's topics: the first in place (most connections and users are in one topic), the
  // rest on the heap; 8 bytes beside the first where small_vector<T, 1> takes 24. An entry with
  // a null topic is an empty slot.
  template <typename Entry>
  class TopicList {
   public:
    std::size_t size() const {
      return first_.topic == nullptr ? 0 : 1 + (rest_ ? rest_->size() : 0);
    }
    Entry& operator[](std::size_t i) { return i == 0 ? first_ : (*rest_)[i - 1]; }
    const Entry& operator[](std::size_t i) const { return i == 0 ? first_ : (*rest_)[i - 1]; }
    // The index of `topic`'s entry; size() when there is none.
    std::size_t index_of(const TopicNode* topic) const;
    void push_back(const Entry& entry);
    // Removes entry i; the last entry takes its place.
    void swap_remove(std::size_t i);

   private:
    Entry first_;
    std::unique_ptr<std::vector<Entry>> rest_;
  };
  struct Connection {
    UserNode* user = nullptr;
    TopicList<ConnectionTopic> topics;
    PresenceStatus status = PresenceStatus::online;
  };
  struct User {
    std::array<std::uint32_t, 4> status_counts{};  // connections per PresenceStatus
    TopicList<UserTopic> topics;
    int connections() const {
      return static_cast<int>(status_counts[0] + status_counts[1] + status_counts[2] +
                              status_counts[3]);
    }
    PresenceStatus folded() const;
  };
  // Removes one of the user's connections from `topic`; appends the offline change if it was the
  // last one.
  void leave_topic(UserNode& user, TopicNode& topic, PresenceStatus status,
                   std::vector<PresenceChange>& out);
  // Appends a change for every topic the user is in when their folded status moved.
  static void status_moved(const UserNode& user, PresenceStatus before,
                           std::vector<PresenceChange>& out);

  StringMap<Connection> connections_;
  StringMap<User> users_;
  StringMap<std::vector<UserNode*>> topics_;  // topic -> users present
};

}  // namespace realtime
