#pragma once

#include <bitset>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "broker/mailbox.hpp"
#include "core/topic_registry.hpp"

namespace realtime {

// Which shards have local subscribers of each topic (REALTIME_THREADS is at most 256).
inline constexpr std::size_t max_shards = 256;
using ShardSet = std::bitset<max_shards>;

// Node-wide index topic -> shards with subscribers. Touched only when a shard's first subscriber
// of a topic arrives or its last leaves, and once per published batch: a batch wakes only the
// shards that have something to deliver. It also knows which shards hold mailboxes (a user's own
// topic without a subscription, see mailbox.hpp): those get every user's own topic, and each
// finds its recipients, if any, in its user index.
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
  // Shard `shard` opened its first mailbox (`any`) or closed its last one.
  void set_mailboxes(std::size_t shard, bool any) {
    std::lock_guard lock(mutex_);
    mailboxes_.set(shard, any);
  }
  bool any_mailboxes() const {
    std::lock_guard lock(mutex_);
    return mailboxes_.any();
  }
  // Drops the items nobody on this node receives, under one lock, and returns the shards that
  // have recipients of the rest: subscribers of the item's topic (topic_of(item)) and, for a
  // user's own topic, the shards with mailboxes, as far as the item's reach (reach_of(item)) goes.
  template <typename T, typename TopicOf, typename ReachOf>
  ShardSet keep_present(std::vector<T>& items, TopicOf topic_of, ReachOf reach_of) const {
    ShardSet targets;
    std::lock_guard lock(mutex_);
    std::erase_if(items, [&](const T& item) {
      const ShardSet to = recipients(topic_of(item), reach_of(item));
      targets |= to;
      return to.none();
    });
    return targets;
  }
  template <typename T, typename TopicOf>
  ShardSet keep_present(std::vector<T>& items, TopicOf topic_of) const {
    return keep_present(items, topic_of, [](const T&) { return Reach::all; });
  }
  bool contains(std::string_view topic) const {
    std::lock_guard lock(mutex_);
    return shards_.find(topic) != shards_.end();
  }
  // Whether anyone on this node may receive an event of `topic`.
  bool wanted(std::string_view topic) const {
    std::lock_guard lock(mutex_);
    return recipients(topic, Reach::all).any();
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
  ShardSet recipients(std::string_view topic, Reach reach) const {
    ShardSet to;
    if (reach != Reach::mailboxes) {
      if (auto it = shards_.find(topic); it != shards_.end()) to = it->second;
    }
    if (reach != Reach::subscribers && mailboxes_.any() && mailbox_user(topic)) to |= mailboxes_;
    return to;
  }

  mutable std::mutex mutex_;
  std::unordered_map<std::string, ShardSet, StringHash, std::equal_to<>> shards_;
  ShardSet mailboxes_;
};

}  // namespace realtime
