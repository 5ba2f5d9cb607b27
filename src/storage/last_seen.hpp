#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "core/presence_state.hpp"
#include "presence/presence_store.hpp"
#include "storage/last_seen_writer.hpp"
#include "storage/pending_rows.hpp"
#include "storage/topic_history.hpp"

namespace realtime::storage {

// Between presence and the database: turns user changes into last-seen rows, remembers who left
// which topic on this node, and fills in those users' last_seen for presence listings.
class LastSeen {
 public:
  using Clock = std::function<std::int64_t()>;  // Unix ms
  static constexpr std::size_t users_per_topic = 100;
  static constexpr std::size_t max_topics = 10000;
  // Without a database: users whose last connection closed, remembered for listings.
  static constexpr std::size_t remembered_offline_users = 10000;

  // `writer` may be null (persistence off): listings then use the time users left the topic, or
  // their last connection closed, as remembered here (the latest 10,000 such users).
  LastSeen(LastSeenWriter* writer, Clock clock);

  // From the presence store's UserSink.
  void user_changed(const UserChange& change);
  // From the presence store's ChangeSink: who left which topic.
  void topic_changes(const std::vector<PresenceChange>& changes);
  // Appends to `present` (the users present in `topic`) those who left it and are not back, as
  // offline with their last_seen; `done` runs once, on any thread.
  void add_departed(std::string topic, std::vector<UserPresence> present,
                    std::function<void(std::vector<UserPresence>)> done);
  // Appends to `present` (those of `asked` who are connected) the others, as offline with the
  // last_seen of their row (none without a row); `done` runs once, on any thread.
  void add_absent(std::vector<std::string> asked, std::vector<UserPresence> present,
                  std::function<void(std::vector<UserPresence>)> done);
  // At shutdown, after the connections had their chance to close: records `users` (those still
  // connected to this node, from the embedded engine's presence) as offline, since their
  // sessions are dropped without telling presence. Returns how many.
  std::size_t all_offline(const std::vector<std::string>& users);

 private:
  // The rows of `user_ids` that are known: the writer's (pending or stored), or without one the
  // offline users remembered here.
  void rows_of(std::vector<std::string> user_ids, LastSeenWriter::LookupDone done);

  LastSeenWriter* writer_;
  Clock clock_;
  std::mutex mutex_;
  TopicHistory history_{users_per_topic, max_topics};
  PendingRows offline_{remembered_offline_users};  // only without a writer
};

}  // namespace realtime::storage
