#pragma once

#include <bitset>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/topic_registry.hpp"

namespace realtime {

// Which shards have local subscribers of each topic (REALTIME_THREADS is at most 256).
inline constexpr std::size_t max_shards = 256;
using ShardSet = std::bitset<max_shards>;

// Node-wide index topic -> shards with subscribers. Touched only when a shard's first subscriber
// of a topic arrives or its last leaves, and once per published batch: a batch wakes only the
// shards that have something to deliver.
class LocalTopics {
 public:
  // Each returns true when the node-wide state changed (first shard in / last shard out).
  bool add(std::string_view topic, std::size_t shard) {
    std::lock_guard lock(mutex_);
    auto it = shards_.find(topic);
    if (it == shards_.end()) it = shards_.emplace(std::string(topic), ShardSet{}).first;
    const bool first = it->second.none();
    it->second.set(shard);
    return first;
  }
  bool remove(std::string_view topic, std::size_t shard) {
    std::lock_guard lock(mutex_);
    auto it = shards_.find(topic);
    if (it == shards_.end()) return false;
    it->second.reset(shard);
    if (it->second.any()) return false;
    shards_.erase(it);
    return true;
  }
  // Drops the items whose topic (topic_of(item)) has no local subscriber, under one lock, and
  // returns the shards that have subscribers of the rest.
  template <typename T, typename TopicOf>
  ShardSet keep_present(std::vector<T>& items, TopicOf topic_of) const {
    ShardSet targets;
    std::lock_guard lock(mutex_);
    std::erase_if(items, [&](const T& item) {
      auto it = shards_.find(topic_of(item));
      if (it == shards_.end()) return true;
      targets |= it->second;
      return false;
    });
    return targets;
  }
  bool contains(std::string_view topic) const {
    std::lock_guard lock(mutex_);
    return shards_.find(topic) != shards_.end();
  }
  std::vector<std::string> snapshot() const {
    std::lock_guard lock(mutex_);
    std::vector<std::string> out;
    out.reserve(shards_.size());
    for (const auto& [topic, shards] : shards_) out.push_back(topic);
    return out;
  }
  std::size_t size() const {
    std::lock_guard lock(mutex_);
    return shards_.size();
  }

 private:
  mutable std::mutex mutex_;
  std::unordered_map<std::string, ShardSet, StringHash, std::equal_to<>> shards_;
};

}  // namespace realtime
