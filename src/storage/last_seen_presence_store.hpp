#pragma once

#include <memory>

#include "presence/presence_store.hpp"
#include "storage/last_seen.hpp"

namespace realtime::storage {

// Any PresenceStore, with users who left a topic added to its listings (LastSeen).
class LastSeenPresenceStore final : public PresenceStore {
 public:
  LastSeenPresenceStore(std::unique_ptr<PresenceStore> inner, LastSeen& last_seen)
      : inner_(std::move(inner)), last_seen_(last_seen) {}

  void connect(std::string_view connection_id, std::string_view user_id) override {
    inner_->connect(connection_id, user_id);
  }
  void set_status(std::string_view connection_id, PresenceStatus status) override {
    inner_->set_status(connection_id, status);
  }
  void join(std::string_view connection_id, std::string_view topic) override {
    inner_->join(connection_id, topic);
  }
  void leave(std::string_view connection_id, std::string_view topic) override {
    inner_->leave(connection_id, topic);
  }
  void disconnect(std::string_view connection_id) override { inner_->disconnect(connection_id); }
  void users_in(std::string_view topic, UsersCallback done) override {
    inner_->users_in(topic, [this, topic = std::string(topic),
                             done = std::move(done)](std::vector<UserPresence> users) mutable {
      last_seen_.add_departed(std::move(topic), std::move(users), std::move(done));
    });
  }
  // Those not connected are added as offline, with their last_seen when a row has it.
  void users_connected(std::vector<std::string> user_ids, UsersCallback done) override {
    auto asked = user_ids;
    inner_->users_connected(
        std::move(user_ids), [this, asked = std::move(asked),
                              done = std::move(done)](std::vector<UserPresence> users) mutable {
          last_seen_.add_absent(std::move(asked), std::move(users), std::move(done));
        });
  }

 private:
  std::unique_ptr<PresenceStore> inner_;
  LastSeen& last_seen_;
};

}  // namespace realtime::storage
