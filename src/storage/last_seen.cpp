#include "storage/last_seen.hpp"

#include <unordered_map>
#include <unordered_set>

namespace realtime::storage {

LastSeen::LastSeen(LastSeenWriter* writer, Clock clock)
    : writer_(writer), clock_(std::move(clock)) {}

void LastSeen::user_changed(const UserChange& change) {
  const std::int64_t at = change.at_ms > 0 ? change.at_ms : clock_();
  if (writer_ != nullptr) {
    return writer_->record({change.user_id, change.status, at, change.connections});
  }
  std::lock_guard lock(mutex_);
  if (change.status == PresenceStatus::offline) {
    offline_.put({change.user_id, change.status, at, 0});
  } else {
    offline_.erase(change.user_id);
  }
}

void LastSeen::rows_of(std::vector<std::string> user_ids, LastSeenWriter::LookupDone done) {
  if (writer_ != nullptr) return writer_->lookup(std::move(user_ids), std::move(done));
  std::vector<PresenceRow> rows;
  {
    std::lock_guard lock(mutex_);
    for (const auto& id : user_ids) {
      if (auto row = offline_.find(id)) rows.push_back(std::move(*row));
    }
  }
  done(std::move(rows));
}

std::size_t LastSeen::all_offline(const std::vector<std::string>& users) {
  if (writer_ == nullptr) return 0;
  const std::int64_t now = clock_();
  for (const std::string& user_id : users) {
    writer_->record({user_id, PresenceStatus::offline, now, 0});
  }
  return users.size();
}

void LastSeen::topic_changes(const std::vector<PresenceChange>& changes) {
  const std::int64_t now = clock_();
  std::lock_guard lock(mutex_);
  for (const auto& c : changes) {
    if (c.new_status == PresenceStatus::offline) history_.note_left(c.topic, c.user_id, now);
  }
}

void LastSeen::add_departed(std::string topic, std::vector<UserPresence> present,
                            std::function<void(std::vector<UserPresence>)> done) {
  std::vector<TopicHistory::Left> departed;
  {
    std::lock_guard lock(mutex_);
    departed = history_.recent(topic);
  }
  std::unordered_set<std::string_view> here;
  for (const auto& u : present) here.insert(u.user_id);
  std::erase_if(departed, [&](const TopicHistory::Left& l) { return here.contains(l.user_id); });
  if (departed.empty()) return done(std::move(present));

  auto finish = [departed, present = std::move(present), done = std::move(done),
                 now = clock_()](std::vector<PresenceRow> rows) mutable {
    std::unordered_map<std::string_view, const PresenceRow*> stored;
    for (const auto& r : rows) stored[r.user_id] = &r;
    for (const auto& l : departed) {
      std::int64_t last_seen = l.left_ms;
      if (auto it = stored.find(l.user_id); it != stored.end()) {
        // Still connected elsewhere: seen now. Else when their last connection closed.
        last_seen = it->second->status == PresenceStatus::offline ? it->second->last_seen_ms : now;
      }
      present.push_back({l.user_id, PresenceStatus::offline, 0, last_seen});
    }
    done(std::move(present));
  };
  std::vector<std::string> ids;
  ids.reserve(departed.size());
  for (const auto& l : departed) ids.push_back(l.user_id);
  rows_of(std::move(ids), std::move(finish));
}

void LastSeen::add_absent(std::vector<std::string> asked, std::vector<UserPresence> present,
                          std::function<void(std::vector<UserPresence>)> done) {
  {
    std::unordered_set<std::string_view> here;
    for (const auto& u : present) here.insert(u.user_id);
    std::erase_if(asked, [&](const std::string& id) { return here.contains(id); });
  }
  if (asked.empty()) return done(std::move(present));
  auto finish = [asked, present = std::move(present),
                 done = std::move(done)](std::vector<PresenceRow> rows) mutable {
    std::unordered_map<std::string_view, std::int64_t> seen;
    for (const auto& r : rows) seen[r.user_id] = r.last_seen_ms;
    for (auto& id : asked) {
      UserPresence u{std::move(id), PresenceStatus::offline, 0, std::nullopt};
      if (auto it = seen.find(u.user_id); it != seen.end()) u.last_seen_ms = it->second;
      present.push_back(std::move(u));
    }
    done(std::move(present));
  };
  rows_of(asked, std::move(finish));
}

}  // namespace realtime::storage
