// The embedded broker's routing: a published batch reaches only the shards with subscribers of
// its topics, and is dropped unencoded when nobody on the node listens.
#include "broker/memory_broker.hpp"

#include <gtest/gtest.h>

#include <thread>

#include <memory>
#include <string>
#include <vector>

namespace realtime {
namespace {

class RecordingTarget final : public DeliveryTarget {
 public:
  void deliver(std::shared_ptr<const FrameBatch> batch) override { batches.push_back(batch); }
  std::vector<std::string> topics() const {
    std::vector<std::string> out;
    for (const auto& b : batches)
      for (const auto& f : *b) out.push_back(f.topic);
    return out;
  }
  std::vector<std::shared_ptr<const FrameBatch>> batches;
};

PublishedEvent event(std::string topic) { return {std::move(topic), "e", "{}", {}}; }

class MemoryBrokerTest : public ::testing::Test {
 protected:
  std::vector<RecordingTarget> shards = std::vector<RecordingTarget>(3);
  MemoryBroker broker{{&shards[0], &shards[1], &shards[2]}};

  PublishStatus publish(std::vector<PublishedEvent> events) {
    PublishStatus status = PublishStatus::unavailable;
    broker.publish(std::move(events), [&](PublishStatus s) { status = s; });
    return status;
  }
};

TEST_F(MemoryBrokerTest, ABatchWakesOnlyTheShardsWithSubscribersOfItsTopics) {
  broker.topic_added("room:a", 0);
  broker.topic_added("room:b", 2);
  EXPECT_EQ(publish({event("room:a"), event("room:b"), event("room:nobody")}), PublishStatus::ok);
  ASSERT_EQ(shards[0].batches.size(), 1u);
  EXPECT_TRUE(shards[1].batches.empty());
  ASSERT_EQ(shards[2].batches.size(), 1u);
  // One encoded batch shared by both shards, without the topic nobody listens to.
  EXPECT_EQ(shards[0].batches[0], shards[2].batches[0]);
  EXPECT_EQ(shards[0].topics(), (std::vector<std::string>{"room:a", "room:b"}));

  EXPECT_EQ(publish({event("room:b")}), PublishStatus::ok);
  EXPECT_EQ(shards[0].batches.size(), 1u);
  EXPECT_EQ(shards[2].batches.size(), 2u);
}

TEST_F(MemoryBrokerTest, ATopicLeavesAShardWithItsLastSubscriberThere) {
  broker.topic_added("room:a", 0);
  broker.topic_added("room:a", 1);
  EXPECT_EQ(broker.topic_count(), 1u);
  broker.topic_removed("room:a", 0);
  publish({event("room:a")});
  EXPECT_TRUE(shards[0].batches.empty());
  EXPECT_EQ(shards[1].batches.size(), 1u);
  broker.topic_removed("room:a", 1);
  EXPECT_EQ(broker.topic_count(), 0u);
  publish({event("room:a")});
  EXPECT_EQ(shards[1].batches.size(), 1u);
}

TEST_F(MemoryBrokerTest, NobodyListeningIsOkAndDeliversNothing) {
  EXPECT_EQ(publish({event("room:a")}), PublishStatus::ok);
  for (const auto& s : shards) EXPECT_TRUE(s.batches.empty());
}

TEST(LocalTopicsTest, AddAndRemoveReportOnlyTheNodeWideFirstAndLast) {
  LocalTopics topics;
  EXPECT_TRUE(topics.add("t", 3));
  EXPECT_FALSE(topics.add("t", 200));
  EXPECT_FALSE(topics.add("t", 3));  // the same shard again changes nothing
  EXPECT_FALSE(topics.remove("t", 3));
  EXPECT_TRUE(topics.contains("t"));
  EXPECT_TRUE(topics.remove("t", 200));
  EXPECT_FALSE(topics.contains("t"));
  EXPECT_FALSE(topics.remove("t", 200));  // unknown topic: no change
  std::vector<std::string> items{"t", "u"};
  EXPECT_TRUE(topics.keep_present(items, [](const std::string& s) -> std::string_view { return s; })
                  .none());
  EXPECT_TRUE(items.empty());
}

}  // namespace
}  // namespace realtime

namespace realtime {
namespace {

TEST(LazyFrameTest, TheFirstMakerWinsAndOthersGetItsFrame) {
  LazyFrame slot;
  int made = 0;
  const FramePtr& a = slot.get([&] {
    ++made;
    return std::make_shared<const std::string>("x");
  });
  const FramePtr& b = slot.get([&] {
    ++made;
    return std::make_shared<const std::string>("y");
  });
  EXPECT_EQ(made, 1);
  EXPECT_EQ(*b, "x");
  EXPECT_EQ(a.get(), b.get());
  LazyFrame moved(std::move(slot));
  EXPECT_EQ(*moved.get([] { return FramePtr(); }), "x");
}

TEST(LazyFrameTest, ConcurrentMakersAgreeOnOneFrame) {
  LazyFrame slot;
  std::vector<const std::string*> seen(8);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < seen.size(); ++i) {
    threads.emplace_back([&, i] {
      seen[i] =
          slot.get([i] { return std::make_shared<const std::string>(std::to_string(i)); }).get();
    });
  }
  for (auto& t : threads) t.join();
  for (auto* p : seen) EXPECT_EQ(p, seen[0]);
}

}  // namespace
}  // namespace realtime
