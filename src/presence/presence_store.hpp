#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/presence_state.hpp"

namespace realtime {

// A user's node-wide state after their connection count or folded status changed: what
// last-seen persistence writes.
struct UserChange {
  std::string user_id;
  PresenceStatus status = PresenceStatus::offline;  // offline once no connection is left
  int connections = 0;
  // When it happened (Unix ms) by the cluster's one clock, strictly increasing per user, so that
  // rows written by several nodes keep their order; 0: now, by the local clock (one node).
  std::int64_t at_ms = 0;
};

// Cluster-wide (for a clustered engine) record of who is present in which topic. Thread-safe.
// Every change it detects goes to the ChangeSink given at construction, in the order they happened.
class PresenceStore {
 public:
  using ChangeSink = std::function<void(const std::vector<PresenceChange>&)>;
  // Called under the store's lock, so a user's changes arrive in order: keep it short.
  using UserSink = std::function<void(const UserChange&)>;
  using UsersCallback = std::function<void(std::vector<UserPresence>)>;

  virtual ~PresenceStore() = default;
  virtual void connect(std::string_view connection_id, std::string_view user_id) = 0;
  virtual void set_status(std::string_view connection_id, PresenceStatus status) = 0;
  virtual void join(std::string_view connection_id, std::string_view topic) = 0;
  virtual void leave(std::string_view connection_id, std::string_view topic) = 0;
  virtual void disconnect(std::string_view connection_id) = 0;
  // `done` runs once, on any thread.
  virtual void users_in(std::string_view topic, UsersCallback done) = 0;
  // Those of `user_ids` with a connection (on any node, with a clustered engine), each with the
  // status folded over all their connections and how many they have; the others are left out.
  // `done` runs once, on any thread.
  virtual void users_connected(std::vector<std::string> user_ids, UsersCallback done) = 0;
};

}  // namespace realtime
