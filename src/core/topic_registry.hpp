#pragma once

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace realtime {

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};

// The two-way index subscriber <-> topics of one shard (Redis pubsub.c style): a topic exists
// while it has subscribers and is deleted with its last one. Not thread-safe: one per shard.
//
// Subscribers of a topic sit in a flat vector so fan-out is a linear walk; removal is O(1) by
// swapping the last subscriber into the hole (fan-out order across subscribers is not promised).
template <typename Subscriber>
class TopicRegistry {
 public:
  struct SubscribeResult {
    bool added = false;          // false: already subscribed
    bool topic_created = false;  // first subscriber of the topic on this registry
  };
  struct UnsubscribeResult {
    bool removed = false;        // false: was not subscribed
    bool topic_removed = false;  // last subscriber left
  };

  SubscribeResult subscribe(Subscriber* s, std::string_view topic) {
    auto it = topics_.find(topic);
    const bool created = it == topics_.end();
    if (created) it = topics_.emplace(std::string(topic), Entry{}).first;
    Entry& entry = it->second;
    if (!entry.position.emplace(s, entry.subscribers.size()).second) return {false, false};
    entry.subscribers.push_back(s);
    // The map key's address is stable for the life of the entry, so the view stays valid.
    by_subscriber_[s].push_back(std::string_view(it->first));
    ++subscription_count_;
    return {true, created};
  }

  UnsubscribeResult unsubscribe(Subscriber* s, std::string_view topic) {
    auto by = by_subscriber_.find(s);
    if (by == by_subscriber_.end()) return {};
    auto& topics = by->second;
    auto t = std::find(topics.begin(), topics.end(), topic);
    if (t == topics.end()) return {};
    *t = topics.back();
    topics.pop_back();
    if (topics.empty()) by_subscriber_.erase(by);
    return {true, remove_from_topic(s, topic)};
  }

  // Drops every subscription of `s`; calls on_removed(topic, topic_removed) for each.
  template <typename OnRemoved>
  void unsubscribe_all(Subscriber* s, OnRemoved&& on_removed) {
    auto by = by_subscriber_.find(s);
    if (by == by_subscriber_.end()) return;
    auto topics = std::move(by->second);
    by_subscriber_.erase(by);
    for (std::string_view topic : topics) {
      std::string name(topic);  // the view dies with the entry when it is the last subscriber
      const bool removed = remove_from_topic(s, name);
      on_removed(std::string_view(name), removed);
    }
  }

  // The subscribers of `topic`, or nullptr when it has none.
  const std::vector<Subscriber*>* subscribers(std::string_view topic) const {
    auto it = topics_.find(topic);
    return it == topics_.end() ? nullptr : &it->second.subscribers;
  }

  bool is_subscribed(Subscriber* s, std::string_view topic) const {
    auto it = topics_.find(topic);
    return it != topics_.end() && it->second.position.count(s) > 0;
  }

  std::size_t subscription_count(Subscriber* s) const {
    auto by = by_subscriber_.find(s);
    return by == by_subscriber_.end() ? 0 : by->second.size();
  }

  std::vector<std::string> topics_of(Subscriber* s) const {
    std::vector<std::string> out;
    auto by = by_subscriber_.find(s);
    if (by != by_subscriber_.end()) out.assign(by->second.begin(), by->second.end());
    return out;
  }

  std::size_t topic_count() const { return topics_.size(); }
  std::size_t subscription_count() const { return subscription_count_; }

 private:
  struct Entry {
    std::vector<Subscriber*> subscribers;
    std::unordered_map<Subscriber*, std::size_t> position;
  };

  // Returns true when the topic became empty and was deleted.
  bool remove_from_topic(Subscriber* s, std::string_view topic) {
    auto it = topics_.find(topic);
    if (it == topics_.end()) return false;
    Entry& entry = it->second;
    auto pos = entry.position.find(s);
    if (pos == entry.position.end()) return false;
    const std::size_t hole = pos->second;
    entry.position.erase(pos);
    Subscriber* last = entry.subscribers.back();
    entry.subscribers.pop_back();
    if (last != s) {
      entry.subscribers[hole] = last;
      entry.position[last] = hole;
    }
    --subscription_count_;
    if (entry.subscribers.empty()) {
      topics_.erase(it);
      return true;
    }
    return false;
  }

  std::unordered_map<std::string, Entry, StringHash, std::equal_to<>> topics_;
  // A subscriber's topics (topics_' keys): a connection has a few, so a vector is smaller than a
  // hash set and as fast to search.
  std::unordered_map<Subscriber*, std::vector<std::string_view>> by_subscriber_;
  std::size_t subscription_count_ = 0;
};

}  // namespace realtime
