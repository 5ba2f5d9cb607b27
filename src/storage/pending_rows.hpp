#pragma once

#include <cstdint>
#include <list>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/topic_registry.hpp"
#include "storage/presence_row.hpp"

namespace realtime::storage {

// Rows waiting to be written, at most one per user (the latest wins), bounded by distinct users:
// when full, the row changed longest ago is dropped. Pure; the writer guards it with a mutex.
class PendingRows {
 public:
  explicit PendingRows(std::size_t max_users) : max_users_(max_users < 1 ? 1 : max_users) {}

  // Adds or replaces the user's row; returns how many rows were dropped to make room (0 or 1).
  std::size_t put(PresenceRow row);
  // Removes and returns up to `max` rows, those changed longest ago first.
  std::vector<PresenceRow> take(std::size_t max);
  // Gives back rows whose write failed, ahead of the others (they are older). A user who got
  // a newer row meanwhile keeps the newer one. Returns how many rows were dropped for room.
  std::size_t restore(std::vector<PresenceRow> rows);
  std::optional<PresenceRow> find(std::string_view user_id) const;
  void erase(std::string_view user_id);

  std::size_t size() const { return order_.size(); }
  bool empty() const { return order_.empty(); }

 private:
  std::size_t drop_over_limit();

  std::size_t max_users_;
  std::list<PresenceRow> order_;  // least recently changed first
  std::unordered_map<std::string, std::list<PresenceRow>::iterator, StringHash, std::equal_to<>>
      by_user_;
};

}  // namespace realtime::storage
