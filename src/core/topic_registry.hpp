#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace realtime {

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};

// A map keyed by string that finds by string_view without building a string.
template <typename V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

// Where a subscriber stands in one topic: the topic's entry in the registry and the
// subscriber's index in that topic's subscriber list.
template <typename Subscriber>
struct TopicSlot {
  // The registry's map node: its key is the topic name, stable while the topic exists.
  std::pair<const std::string, std::vector<Subscriber*>>* topic;
  std::size_t index;
};

// The two-way index subscriber <-> topics of one shard (Redis pubsub.c style): a topic exists
// while it has subscribers and is deleted with its last one. Not thread-safe: one per shard.
//
// Subscribers of a topic sit in a flat vector so fan-out is a linear walk; removal is O(1) by
// swapping the last subscriber into the hole (fan-out order across subscribers is not promised).
// The other direction lives in the subscriber (`s->topic_slots()`, a
// std::vector<TopicSlot<Subscriber>>): a connection is in a few topics, and a map per connection
// here cost ~100 bytes of every idle connection.
template <typename Subscriber>
class TopicRegistry {
 public:
  using Slot = TopicSlot<Subscriber>;

  struct SubscribeResult {
    bool added = false;          // false: already subscribed
    bool topic_created = false;  // first subscriber of the topic on this registry
  };
  struct UnsubscribeResult {
    bool removed = false;        // false: was not subscribed
    bool topic_removed = false;  // last subscriber left
  };

  SubscribeResult subscribe(Subscriber* s, std::string_view topic) {
    if (find_slot(*s, topic) != nullptr) return {false, false};
    auto it = topics_.find(topic);
    const bool created = it == topics_.end();
    if (created) it = topics_.emplace(std::string(topic), std::vector<Subscriber*>{}).first;
    s->topic_slots().push_back(Slot{&*it, it->second.size()});
    it->second.push_back(s);
    ++subscription_count_;
    return {true, created};
  }

  UnsubscribeResult unsubscribe(Subscriber* s, std::string_view topic) {
    auto& slots = s->topic_slots();
    Slot* slot = find_slot(*s, topic);
    if (slot == nullptr) return {};
    const Slot gone = *slot;
    *slot = slots.back();
    slots.pop_back();
    return {true, remove_from_topic(s, gone)};
  }

  // Drops every subscription of `s`; calls on_removed(topic, topic_removed) for each.
  template <typename OnRemoved>
  void unsubscribe_all(Subscriber* s, OnRemoved&& on_removed) {
    auto slots = std::move(s->topic_slots());
    s->topic_slots().clear();
    for (const Slot& slot : slots) {
      std::string name(slot.topic->first);  // the key dies with its last subscriber
      const bool removed = remove_from_topic(s, slot);
      on_removed(std::string_view(name), removed);
    }
  }

  // The subscribers of `topic`, or nullptr when it has none.
  const std::vector<Subscriber*>* subscribers(std::string_view topic) const {
    auto it = topics_.find(topic);
    return it == topics_.end() ? nullptr : &it->second;
  }

  bool is_subscribed(Subscriber* s, std::string_view topic) const {
    return find_slot(*s, topic) != nullptr;
  }

  std::size_t subscription_count(Subscriber* s) const { return s->topic_slots().size(); }

  std::vector<std::string> topics_of(Subscriber* s) const {
    std::vector<std::string> out;
    for (const Slot& slot : s->topic_slots()) out.emplace_back(slot.topic->first);
    return out;
  }

  std::size_t topic_count() const { return topics_.size(); }
  std::size_t subscription_count() const { return subscription_count_; }

 private:
  static Slot* find_slot(Subscriber& s, std::string_view topic) {
    for (Slot& slot : s.topic_slots()) {
      if (slot.topic->first == topic) return &slot;
    }
    return nullptr;
  }

  // Takes `s` out of its slot's topic (the slot is already out of s's list). Returns true when
  // the topic became empty and was deleted.
  bool remove_from_topic(Subscriber* s, const Slot& slot) {
    auto& subscribers = slot.topic->second;
    Subscriber* last = subscribers.back();
    subscribers.pop_back();
    if (last != s) {
      subscribers[slot.index] = last;
      for (Slot& moved : last->topic_slots()) {
        if (moved.topic == slot.topic) moved.index = slot.index;
      }
    }
    --subscription_count_;
    if (!subscribers.empty()) return false;
    topics_.erase(topics_.find(std::string_view(slot.topic->first)));
    return true;
  }

  StringMap<std::vector<Subscriber*>> topics_;
  std::size_t subscription_count_ = 0;
};

}  // namespace realtime
