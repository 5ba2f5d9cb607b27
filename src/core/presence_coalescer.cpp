#include "core/presence_coalescer.hpp"

#include <algorithm>

namespace realtime {

PresenceCoalescer::PresenceCoalescer(std::chrono::milliseconds window, EventsEnabled events_enabled,
                                     std::size_t max_users)
    : window_(window),
      events_enabled_(std::move(events_enabled)),
      max_users_(std::max<std::size_t>(max_users, 1)) {}

void PresenceCoalescer::add(const std::vector<PresenceChange>& changes, Clock::time_point now,
                            std::vector<TopicPresenceUpdate>& out) {
  // A clock that stepped back would break the deadline queue's order.
  now = std::max(now, last_now_);
  last_now_ = now;
  for (const auto& change : changes) {
    if (window_.count() <= 0) {
      if (events_enabled_ && !events_enabled_(change.topic)) {
        ++counts_.muted;
        continue;
      }
      out.push_back({change.topic, {change}});
      ++counts_.changed_events;
      continue;
    }
    auto it = windows_.find(change.topic);
    if (it == windows_.end()) {
      // The leading edge: out at once, and a window opens behind it.
      Window opened;
      opened.events = !events_enabled_ || events_enabled_(change.topic);
      const bool events = opened.events;
      windows_.emplace(change.topic, std::move(opened));
      deadlines_.emplace_back(now + window_, change.topic);
      if (events) {
        out.push_back({change.topic, {change}});
        ++counts_.changed_events;
      } else {
        ++counts_.muted;
      }
      continue;
    }
    Window& window = it->second;
    ++window.arrived;
    if (!window.events) {
      ++counts_.muted;
      continue;
    }
    fold(window, change);
    if (window.pending.size() >= max_users_) take(it->first, window, out);
  }
}

void PresenceCoalescer::fold(Window& window, const PresenceChange& change) {
  ++window.folded;
  if (auto found = window.index.find(change.user_id); found != window.index.end()) {
    window.pending[found->second].new_status = change.new_status;
    return;
  }
  window.index.emplace(change.user_id, window.pending.size());
  window.pending.push_back(change);
}

void PresenceCoalescer::take(const std::string& topic, Window& window,
                             std::vector<TopicPresenceUpdate>& out) {
  std::vector<PresenceChange> net;
  net.reserve(window.pending.size());
  for (auto& change : window.pending) {
    if (change.old_status != change.new_status) net.push_back(std::move(change));
  }
  if (net.size() == 1) {
    ++counts_.changed_events;
    counts_.coalesced += window.folded - 1;
  } else {
    if (!net.empty()) ++counts_.diff_events;
    counts_.coalesced += window.folded;
  }
  if (!net.empty()) out.push_back({topic, std::move(net)});
  window.pending.clear();
  window.index.clear();
  window.folded = 0;
}

void PresenceCoalescer::expire(Clock::time_point now, std::vector<TopicPresenceUpdate>& out) {
  now = std::max(now, last_now_);
  last_now_ = now;
  while (!deadlines_.empty() && deadlines_.front().first <= now) {
    const std::string topic = std::move(deadlines_.front().second);
    deadlines_.pop_front();
    auto it = windows_.find(topic);
    if (it == windows_.end()) continue;
    Window& window = it->second;
    if (window.arrived == 0) {
      windows_.erase(it);  // a quiet window: the next change is a leading edge again
      continue;
    }
    take(topic, window, out);
    window.arrived = 0;
    deadlines_.emplace_back(now + window_, topic);
  }
}

void PresenceCoalescer::flush_all(std::vector<TopicPresenceUpdate>& out) {
  for (const auto& [deadline, topic] : deadlines_) {
    if (auto it = windows_.find(topic); it != windows_.end()) take(topic, it->second, out);
  }
  deadlines_.clear();
  windows_.clear();
}

std::optional<PresenceCoalescer::Clock::time_point> PresenceCoalescer::next_deadline() const {
  if (deadlines_.empty()) return std::nullopt;
  return deadlines_.front().first;
}

std::size_t PresenceCoalescer::pending_users() const {
  std::size_t n = 0;
  for (const auto& [topic, window] : windows_) n += window.pending.size();
  return n;
}

}  // namespace realtime
