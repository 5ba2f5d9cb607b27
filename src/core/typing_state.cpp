#include "core/typing_state.hpp"

#include <algorithm>

namespace realtime {

TypingState::TypingState(Clock::duration timeout, Clock::duration coalesce)
    : timeout_(timeout), coalesce_(coalesce) {}

std::string TypingState::key(std::string_view topic, std::string_view user_id) {
  std::string k;
  k.reserve(topic.size() + 1 + user_id.size());
  k.append(topic).append(1, '\n').append(user_id);
  return k;
}

TypingChange TypingState::change_for(const std::string& key, const Entry& e, bool typing) {
  const auto nl = key.find('\n');
  return {key.substr(0, nl), key.substr(nl + 1), e.thread_id, e.connection_id, typing};
}

std::optional<TypingChange> TypingState::start(std::string_view connection_id,
                                               std::string_view user_id, std::string_view topic,
                                               std::string_view thread_id, Clock::time_point now) {
  auto k = key(topic, user_id);
  auto it = entries_.find(k);
  if (it != entries_.end()) {
    Entry& e = it->second;
    const bool same_place = e.thread_id == thread_id;
    e.expires_at = now + timeout_;
    e.connection_id = std::string(connection_id);
    // Re-announced now and then so a subscriber who joined mid-typing learns of it too.
    if (same_place && now - e.announced_at < coalesce_) return std::nullopt;
    e.thread_id = std::string(thread_id);
    e.announced_at = now;
    return change_for(it->first, e, true);
  }
  Entry e{std::string(connection_id), std::string(thread_id), now + timeout_, now};
  auto [pos, _] = entries_.emplace(std::move(k), std::move(e));
  return change_for(pos->first, pos->second, true);
}

std::optional<TypingChange> TypingState::stop(std::string_view connection_id,
                                              std::string_view user_id, std::string_view topic) {
  auto it = entries_.find(key(topic, user_id));
  if (it == entries_.end() || it->second.connection_id != connection_id) return std::nullopt;
  auto change = change_for(it->first, it->second, false);
  entries_.erase(it);
  return change;
}

std::vector<TypingChange> TypingState::expire(Clock::time_point now) {
  std::vector<TypingChange> out;
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (it->second.expires_at <= now) {
      out.push_back(change_for(it->first, it->second, false));
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
  return out;
}

std::vector<TypingChange> TypingState::disconnect(std::string_view connection_id) {
  std::vector<TypingChange> out;
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (it->second.connection_id == connection_id) {
      out.push_back(change_for(it->first, it->second, false));
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
  return out;
}

std::vector<std::string> TypingState::typing_in(std::string_view topic) const {
  std::vector<std::string> users;
  for (const auto& [k, e] : entries_) {
    const auto nl = k.find('\n');
    if (std::string_view(k).substr(0, nl) == topic) users.push_back(k.substr(nl + 1));
  }
  std::sort(users.begin(), users.end());
  return users;
}

std::optional<TypingState::Clock::time_point> TypingState::next_expiry() const {
  std::optional<Clock::time_point> next;
  for (const auto& [k, e] : entries_) {
    if (!next || e.expires_at < *next) next = e.expires_at;
  }
  return next;
}

}  // namespace realtime
