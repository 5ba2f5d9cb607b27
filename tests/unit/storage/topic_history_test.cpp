#include "storage/topic_history.hpp"

#include <gtest/gtest.h>

namespace realtime::storage {
namespace {

std::vector<std::string> users(const std::vector<TopicHistory::Left>& left) {
  std::vector<std::string> out;
  for (const auto& l : left) out.push_back(l.user_id);
  return out;
}

TEST(TopicHistoryTest, MostRecentFirstAndOncePerUser) {
  TopicHistory h(10, 10);
  h.note_left("room", "a", 1);
  h.note_left("room", "b", 2);
  h.note_left("room", "a", 3);
  const auto left = h.recent("room");
  EXPECT_EQ(users(left), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(left[0].left_ms, 3);
  EXPECT_TRUE(h.recent("other").empty());
}

TEST(TopicHistoryTest, KeepsAtMostPerTopicUsers) {
  TopicHistory h(2, 10);
  h.note_left("room", "a", 1);
  h.note_left("room", "b", 2);
  h.note_left("room", "c", 3);
  EXPECT_EQ(users(h.recent("room")), (std::vector<std::string>{"c", "b"}));
}

TEST(TopicHistoryTest, ForgetsTheTopicNotedLongestAgo) {
  TopicHistory h(10, 2);
  h.note_left("t1", "a", 1);
  h.note_left("t2", "a", 2);
  h.note_left("t1", "b", 3);  // t1 is now the most recent
  h.note_left("t3", "a", 4);  // evicts t2
  EXPECT_EQ(h.topic_count(), 2u);
  EXPECT_TRUE(h.recent("t2").empty());
  EXPECT_EQ(users(h.recent("t1")), (std::vector<std::string>{"b", "a"}));
  EXPECT_EQ(users(h.recent("t3")), (std::vector<std::string>{"a"}));
}

// The age list holds views of the map's keys: evicting topic after topic (long names, outside
// the string's in-place buffer) must leave every kept view valid.
TEST(TopicHistoryTest, ManyEvictionsKeepTheNewestTopics) {
  TopicHistory h(3, 8);
  auto topic = [](int i) { return "channel:a-rather-long-topic-name-" + std::to_string(i); };
  for (int i = 0; i < 1000; ++i) {
    h.note_left(topic(i), "u" + std::to_string(i % 5), i);
    if (i % 3 == 0) h.note_left(topic(i), "again", i);
  }
  EXPECT_EQ(h.topic_count(), 8u);
  EXPECT_TRUE(h.recent(topic(990)).empty());
  EXPECT_EQ(users(h.recent(topic(999))), (std::vector<std::string>{"again", "u4"}));
  EXPECT_EQ(users(h.recent(topic(998))), (std::vector<std::string>{"u3"}));
}

}  // namespace
}  // namespace realtime::storage
