#include "storage/pending_rows.hpp"

namespace realtime::storage {

std::size_t PendingRows::put(PresenceRow row) {
  if (auto it = by_user_.find(row.user_id); it != by_user_.end()) {
    *it->second = std::move(row);
    order_.splice(order_.end(), order_, it->second);
    return 0;
  }
  order_.push_back(std::move(row));
  by_user_.emplace(order_.back().user_id, std::prev(order_.end()));
  return drop_over_limit();
}

std::vector<PresenceRow> PendingRows::take(std::size_t max) {
  std::vector<PresenceRow> out;
  while (!order_.empty() && out.size() < max) {
    by_user_.erase(order_.front().user_id);
    out.push_back(std::move(order_.front()));
    order_.pop_front();
  }
  return out;
}

std::size_t PendingRows::restore(std::vector<PresenceRow> rows) {
  // Reversed, so that pushing each to the front keeps the batch's own order.
  for (auto it = rows.rbegin(); it != rows.rend(); ++it) {
    if (by_user_.contains(it->user_id)) continue;  // a newer row arrived meanwhile
    order_.push_front(std::move(*it));
    by_user_.emplace(order_.front().user_id, order_.begin());
  }
  return drop_over_limit();
}

std::optional<PresenceRow> PendingRows::find(std::string_view user_id) const {
  auto it = by_user_.find(user_id);
  if (it == by_user_.end()) return std::nullopt;
  return *it->second;
}

void PendingRows::erase(std::string_view user_id) {
  auto it = by_user_.find(user_id);
  if (it == by_user_.end()) return;
  auto row = it->second;
  by_user_.erase(it);
  order_.erase(row);
}

std::size_t PendingRows::drop_over_limit() {
  std::size_t dropped = 0;
  while (order_.size() > max_users_) {
    by_user_.erase(order_.front().user_id);
    order_.pop_front();
    ++dropped;
  }
  return dropped;
}

}  // namespace realtime::storage
