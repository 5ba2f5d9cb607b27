#pragma once

#include <mutex>

#include "presence/presence_store.hpp"

namespace realtime {

// The embedded engine's presence: one PresenceState behind a mutex. Presence changes are rare
// next to messages (they happen on connect, subscribe and status changes), so a lock is fine.
class MemoryPresenceStore final : public PresenceStore {
 public:
  explicit MemoryPresenceStore(ChangeSink sink, UserSink user_sink = {})
      : sink_(std::move(sink)), user_sink_(std::move(user_sink)) {}

  void connect(std::string_view connection_id, std::string_view user_id) override;
  void set_status(std::string_view connection_id, PresenceStatus status) override;
  void join(std::string_view connection_id, std::string_view topic) override;
  void leave(std::string_view connection_id, std::string_view topic) override;
  void disconnect(std::string_view connection_id) override;
  void users_in(std::string_view topic, UsersCallback done) override;
  void users_connected(std::vector<std::string> user_ids, UsersCallback done) override;
  // Every user with a connection to this node.
  std::vector<std::string> connected_users();

 private:
  // Runs under the lock so that changes reach the sink in the order they happened.
  void emit(const std::vector<PresenceChange>& changes);
  // Under the lock too: tells the UserSink when the user's summary moved from `before`.
  void report(const std::string& user_id, const UserSummary& before);

  std::mutex mutex_;
  PresenceState state_;
  ChangeSink sink_;
  UserSink user_sink_;
};

}  // namespace realtime
