#include "presence/memory_presence_store.hpp"

namespace realtime {

void MemoryPresenceStore::emit(const std::vector<PresenceChange>& changes) {
  if (!changes.empty() && sink_) sink_(changes);
}

void MemoryPresenceStore::report(const std::string& user_id, const UserSummary& before) {
  if (!user_sink_ || user_id.empty()) return;
  const UserSummary after = state_.summary_of(user_id);
  if (after != before) user_sink_({user_id, after.status, after.connections});
}

void MemoryPresenceStore::connect(std::string_view connection_id, std::string_view user_id) {
  std::lock_guard lock(mutex_);
  const UserSummary before = state_.summary_of(user_id);
  state_.connect(connection_id, user_id);
  report(std::string(user_id), before);
}

void MemoryPresenceStore::set_status(std::string_view connection_id, PresenceStatus status) {
  std::lock_guard lock(mutex_);
  const std::string user_id = state_.user_of(connection_id);
  const UserSummary before = state_.summary_of(user_id);
  emit(state_.set_status(connection_id, status));
  report(user_id, before);
}

void MemoryPresenceStore::join(std::string_view connection_id, std::string_view topic) {
  std::lock_guard lock(mutex_);
  emit(state_.join(connection_id, topic));
}

void MemoryPresenceStore::leave(std::string_view connection_id, std::string_view topic) {
  std::lock_guard lock(mutex_);
  emit(state_.leave(connection_id, topic));
}

void MemoryPresenceStore::disconnect(std::string_view connection_id) {
  std::lock_guard lock(mutex_);
  const std::string user_id = state_.user_of(connection_id);
  const UserSummary before = state_.summary_of(user_id);
  emit(state_.disconnect(connection_id));
  report(user_id, before);
}

std::vector<std::string> MemoryPresenceStore::connected_users() {
  std::lock_guard lock(mutex_);
  return state_.users();
}

void MemoryPresenceStore::users_in(std::string_view topic, UsersCallback done) {
  std::vector<UserPresence> users;
  {
    std::lock_guard lock(mutex_);
    users = state_.users_in(topic);
  }
  done(std::move(users));
}

void MemoryPresenceStore::users_connected(std::vector<std::string> user_ids, UsersCallback done) {
  std::vector<UserPresence> users;
  {
    std::lock_guard lock(mutex_);
    for (auto& id : user_ids) {
      const UserSummary s = state_.summary_of(id);
      if (s.connections > 0) users.push_back({std::move(id), s.status, s.connections, {}});
    }
  }
  done(std::move(users));
}

}  // namespace realtime
