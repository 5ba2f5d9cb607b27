#pragma once

#include <functional>
#include <string_view>
#include <vector>

#include "core/presence_state.hpp"

namespace realtime {

// Cluster-wide (for a clustered engine) record of who is present in which topic. Thread-safe.
// Every change it detects goes to the ChangeSink given at construction, in the order they happened.
class PresenceStore {
 public:
  using ChangeSink = std::function<void(const std::vector<PresenceChange>&)>;
  using UsersCallback = std::function<void(std::vector<UserPresence>)>;

  virtual ~PresenceStore() = default;
  virtual void connect(std::string_view connection_id, std::string_view user_id) = 0;
  virtual void set_status(std::string_view connection_id, PresenceStatus status) = 0;
  virtual void join(std::string_view connection_id, std::string_view topic) = 0;
  virtual void leave(std::string_view connection_id, std::string_view topic) = 0;
  virtual void disconnect(std::string_view connection_id) = 0;
  // `done` runs once, on any thread.
  virtual void users_in(std::string_view topic, UsersCallback done) = 0;
};

}  // namespace realtime
