#include "storage/topic_history.hpp"

#include <algorithm>

namespace realtime::storage {

void TopicHistory::note_left(std::string_view topic, std::string_view user_id,
                             std::int64_t now_ms) {
  auto it = topics_.find(topic);
  if (it == topics_.end()) {
    if (topics_.size() >= max_topics_) {
      topics_.erase(topics_.find(ages_.front()));  // found before the view's key goes
      ages_.pop_front();
    }
    it = topics_.try_emplace(std::string(topic)).first;
    it->second.age = ages_.insert(ages_.end(), it->first);
  } else {
    ages_.splice(ages_.end(), ages_, it->second.age);
  }
  auto& users = it->second.users;
  auto same =
      std::find_if(users.begin(), users.end(), [&](const Left& l) { return l.user_id == user_id; });
  if (same != users.end()) users.erase(same);
  users.push_back({std::string(user_id), now_ms});
  if (users.size() > per_topic_) users.erase(users.begin());
}

std::vector<TopicHistory::Left> TopicHistory::recent(std::string_view topic) const {
  auto it = topics_.find(topic);
  if (it == topics_.end()) return {};
  return {it->second.users.rbegin(), it->second.users.rend()};
}

}  // namespace realtime::storage
