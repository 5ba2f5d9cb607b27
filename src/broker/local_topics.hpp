#pragma once

#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/topic_registry.hpp"

namespace realtime {

// Node-wide count of shards subscribed to each topic. Touched only when a shard's first
// subscriber of a topic arrives or its last leaves, never per message.
class LocalTopics {
 public:
  // Each returns true when the node-wide state changed (first shard in / last shard out).
  bool add(std::string_view topic) {
    std::lock_guard lock(mutex_);
    auto it = counts_.find(topic);
    if (it == counts_.end()) {
      counts_.emplace(std::string(topic), 1);
      return true;
    }
    ++it->second;
    return false;
  }
  bool remove(std::string_view topic) {
    std::lock_guard lock(mutex_);
    auto it = counts_.find(topic);
    if (it == counts_.end()) return false;
    if (--it->second > 0) return false;
    counts_.erase(it);
    return true;
  }
  // Drops the items whose topic (topic_of(item)) has no local subscriber, under one lock.
  template <typename T, typename TopicOf>
  void erase_absent(std::vector<T>& items, TopicOf topic_of) const {
    std::lock_guard lock(mutex_);
    std::erase_if(items, [&](const T& item) { return !counts_.contains(topic_of(item)); });
  }
  bool contains(std::string_view topic) const {
    std::lock_guard lock(mutex_);
    return counts_.find(topic) != counts_.end();
  }
  std::vector<std::string> snapshot() const {
    std::lock_guard lock(mutex_);
    std::vector<std::string> out;
    out.reserve(counts_.size());
    for (const auto& [topic, count] : counts_) out.push_back(topic);
    return out;
  }
  std::size_t size() const {
    std::lock_guard lock(mutex_);
    return counts_.size();
  }

 private:
  mutable std::mutex mutex_;
  std::unordered_map<std::string, int, StringHash, std::equal_to<>> counts_;
};

}  // namespace realtime
