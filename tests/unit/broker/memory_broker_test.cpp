// The embedded broker's routing: a published batch reaches only the shards with subscribers of
// its topics (or, for a user's own topic, with mailboxes), and is dropped unencoded when nobody
// on the node listens.
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

TEST_F(MemoryBrokerTest, AUsersOwnTopicReachesTheShardsWithMailboxesWithoutASubscription) {
  EXPECT_TRUE(broker.delivers_mailboxes());
  EXPECT_EQ(publish({event("user:ann")}), PublishStatus::ok);
  for (const auto& s : shards) EXPECT_TRUE(s.batches.empty());  // no mailbox yet
  broker.mailboxes_changed(1, true);
  broker.topic_added("user:bob", 2);  // a v1 client subscribed to it
  publish({event("user:ann"), event("user:bob"), event("room:x"), event("user:")});
  EXPECT_TRUE(shards[0].batches.empty());
  // Every user's own topic goes to the mailbox shard: it finds ann's connections, if any.
  ASSERT_EQ(shards[1].batches.size(), 1u);
  EXPECT_EQ(shards[1].topics(), (std::vector<std::string>{"user:ann", "user:bob"}));
  EXPECT_EQ((*shards[1].batches[0])[0].reach, Reach::all);
  ASSERT_EQ(shards[2].batches.size(), 1u);
  broker.mailboxes_changed(1, false);
  publish({event("user:ann")});
  EXPECT_EQ(shards[1].batches.size(), 1u);
}

TEST(LocalTopicsTest, EachReachKeepsOnlyItsOwnRecipients) {
  // Through Redis a node reads a user's own topic from its channel (subscribers) and from the
  // pattern (mailboxes): each copy goes only to its own, so nobody gets it twice.
  LocalTopics topics;
  topics.add("user:ann", 0);
  topics.set_mailboxes(1, true);
  struct Item {
    std::string topic;
    Reach reach;
  };
  std::vector<Item> items{{"user:ann", Reach::subscribers},
                          {"user:ann", Reach::mailboxes},
                          {"user:zed", Reach::subscribers},
                          {"room:a", Reach::mailboxes},
                          {"user:zed", Reach::all}};
  std::vector<ShardSet> each;
  for (const Item& item : items) {
    std::vector<Item> one{item};
    each.push_back(topics.keep_present(
        one, [](const Item& i) -> std::string_view { return i.topic; },
        [](const Item& i) { return i.reach; }));
  }
  EXPECT_EQ(each[0], ShardSet().set(0));
  EXPECT_EQ(each[1], ShardSet().set(1));
  EXPECT_TRUE(each[2].none());
  EXPECT_TRUE(each[3].none());
  EXPECT_EQ(each[4], ShardSet().set(1));
  EXPECT_TRUE(topics.wanted("user:zed"));
  EXPECT_FALSE(topics.wanted("room:a"));
  topics.set_mailboxes(1, false);
  EXPECT_FALSE(topics.any_mailboxes());
  EXPECT_FALSE(topics.wanted("user:zed"));
  EXPECT_EQ(mailbox_user("user:ann"), "ann");
  EXPECT_EQ(mailbox_user("user:"), std::nullopt);
  EXPECT_EQ(mailbox_user("users:ann"), std::nullopt);
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
