#pragma once

#include <cstdint>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/topic_registry.hpp"

namespace realtime::storage {

// Who left which topic on this node, most recent first: the users GET /realtime/presence/:topic
// lists as offline with their last_seen. Bounded: `per_topic` users per topic and `max_topics`
// topics (the topic noted longest ago is forgotten first). Pure; the caller locks.
class TopicHistory {
 public:
  struct Left {
    std::string user_id;
    std::int64_t left_ms = 0;  // Unix ms when they left the topic
  };

  TopicHistory(std::size_t per_topic, std::size_t max_topics)
      : per_topic_(per_topic < 1 ? 1 : per_topic), max_topics_(max_topics < 1 ? 1 : max_topics) {}

  void note_left(std::string_view topic, std::string_view user_id, std::int64_t now_ms);
  // Most recent first.
  std::vector<Left> recent(std::string_view topic) const;
  std::size_t topic_count() const { return topics_.size(); }

 private:
  // Up to max_topics of these are kept, most with one or two users: a vector, not a deque (which
  // allocates ~576 bytes before its first element).
  struct Topic {
    std::vector<Left> users;  // least recent first
    std::list<std::string_view>::iterator age;
  };
  std::size_t per_topic_;
  std::size_t max_topics_;
  std::unordered_map<std::string, Topic, StringHash, std::equal_to<>> topics_;
  std::list<std::string_view> ages_;  // topics_' keys, least recently noted first
};

}  // namespace realtime::storage
