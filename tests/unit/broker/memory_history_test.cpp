// The embedded engine's history: offsets and epochs per topic, bounds by count, bytes and age,
// and reads after an offset.
#include "broker/memory_history.hpp"

#include <gtest/gtest.h>

#include "broker/history.hpp"

namespace realtime {
namespace {

using namespace std::chrono_literals;
using Clock = MemoryHistory::Clock;

class MemoryHistoryTest : public ::testing::Test {
 protected:
  MemoryHistory history;
  HistoryLimits limits{5, 60s, 1 << 20};
  Clock::time_point now = Clock::time_point() + 1000s;

  std::uint64_t add(const std::string& topic, const std::string& data = "{}") {
    TopicFrame frame = make_topic_frame({topic, "m", data, {}}, 1, history.next_offset(topic, now));
    history.append(frame, limits, now);
    return frame.offset;
  }
  HistoryResult read(const std::string& topic, std::uint64_t since, std::size_t limit = 100) {
    return history.read(topic, limits, {since, limit}, now);
  }
  static std::vector<std::uint64_t> offsets(const HistoryResult& r) {
    std::vector<std::uint64_t> out;
    for (const auto& e : *r.events) out.push_back(e.offset);
    return out;
  }
};

TEST_F(MemoryHistoryTest, OffsetsCountUpPerTopicAndReadsReturnWhatCameAfter) {
  EXPECT_EQ(add("a"), 1u);
  EXPECT_EQ(add("a"), 2u);
  EXPECT_EQ(add("b"), 1u);
  EXPECT_EQ(add("a"), 3u);
  const auto r = read("a", 1);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.offset, 3u);
  EXPECT_EQ(r.first_kept, 1u);
  EXPECT_EQ(offsets(r), (std::vector<std::uint64_t>{2, 3}));
  // The stored frame is the delivered one: the same bytes, with the offset in them.
  EXPECT_NE((*r.events)[0].frame->find("\"offset\":2"), std::string::npos);
  EXPECT_EQ((*r.events)[0].topic, "a");
  EXPECT_NE(read("a", 0).epoch, read("b", 0).epoch);
  EXPECT_EQ(read("a", 0).epoch, r.epoch);
}

TEST_F(MemoryHistoryTest, ALimitCutsTheReadAndZeroReturnsOnlyThePosition) {
  for (int i = 0; i < 4; ++i) add("a");
  EXPECT_EQ(offsets(read("a", 0, 2)), (std::vector<std::uint64_t>{1, 2}));
  const auto position = read("a", 0, 0);
  EXPECT_TRUE(position.events->empty());
  EXPECT_EQ(position.offset, 4u);
  EXPECT_TRUE(read("a", 4).events->empty());
  EXPECT_TRUE(read("a", 9).events->empty());
  EXPECT_TRUE(read("a", UINT64_MAX).events->empty());
}

TEST_F(MemoryHistoryTest, KeepsAtMostSizeEvents) {
  for (int i = 0; i < 8; ++i) add("a");
  const auto r = read("a", 0);
  EXPECT_EQ(r.offset, 8u);
  EXPECT_EQ(r.first_kept, 4u);
  EXPECT_EQ(offsets(r), (std::vector<std::uint64_t>{4, 5, 6, 7, 8}));
}

TEST_F(MemoryHistoryTest, KeepsAtMostMaxBytes) {
  limits.max_bytes = 2048;
  const std::string data = "\"" + std::string(600, 'x') + "\"";
  for (int i = 0; i < 5; ++i) add("a", data);
  const auto r = read("a", 0);
  EXPECT_EQ(r.offset, 5u);
  EXPECT_LT(r.events->size(), 5u);
  EXPECT_GE(r.events->size(), 1u);
  EXPECT_LE(history.stored_bytes(), 2048u);
  EXPECT_EQ(r.first_kept, r.events->front().offset);
}

TEST_F(MemoryHistoryTest, EventsOlderThanTheTtlAreGoneButTheOffsetStays) {
  add("a");
  add("a");
  now += 30s;
  add("a");
  now += 31s;  // the first two are 61 s old
  auto r = read("a", 0);
  EXPECT_EQ(offsets(r), (std::vector<std::uint64_t>{3}));
  EXPECT_EQ(r.first_kept, 3u);
  now += 60s;
  r = read("a", 0);
  EXPECT_TRUE(r.events->empty());
  EXPECT_EQ(r.offset, 3u);
  EXPECT_EQ(r.first_kept, 4u);
  EXPECT_EQ(history.stored_bytes(), 0u);
}

TEST_F(MemoryHistoryTest, AStreamQuietPastItsEpochsLifetimeStartsANewEpoch) {
  add("a");
  const std::string epoch = read("a", 0).epoch;
  now += history_meta_ttl - 1s;
  EXPECT_EQ(read("a", 0).epoch, epoch);  // a read does not extend it, a publish does
  now += 2s;
  add("b");  // any publish expires quiet streams
  const auto r = read("a", 0);
  EXPECT_NE(r.epoch, epoch);
  EXPECT_EQ(r.offset, 0u);
  EXPECT_EQ(history.topic_count(), 2u);
}

TEST_F(MemoryHistoryTest, AReadOfATopicWithoutEventsGivesAnEpochThatTheFirstPublishKeeps) {
  const auto before = read("a", 0);
  EXPECT_TRUE(before.ok);
  EXPECT_EQ(before.offset, 0u);
  EXPECT_EQ(before.first_kept, 1u);
  add("a");
  EXPECT_EQ(read("a", 0).epoch, before.epoch);
}

}  // namespace
}  // namespace realtime
