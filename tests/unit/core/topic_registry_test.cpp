#include "core/topic_registry.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace realtime {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;
using ::testing::UnorderedElementsAreArray;

struct Sub {
  int id = 0;
  std::vector<TopicSlot<Sub>> slots;
  std::vector<TopicSlot<Sub>>& topic_slots() { return slots; }
};

using Registry = TopicRegistry<Sub>;

// The subscribers of `topic` as a vector (empty when the topic does not exist).
std::vector<Sub*> subscribers_of(const Registry& r, std::string_view topic) {
  const std::vector<Sub*>* subs = r.subscribers(topic);
  return subs == nullptr ? std::vector<Sub*>{} : *subs;
}

class TopicRegistryTest : public ::testing::Test {
 protected:
  Registry registry;
  Sub a{1, {}}, b{2, {}}, c{3, {}}, d{4, {}};
};

// ---------------------------------------------------------------------------------------------
// subscribe

TEST_F(TopicRegistryTest, FirstSubscriberCreatesTheTopic) {
  const auto r = registry.subscribe(&a, "room");
  EXPECT_TRUE(r.added);
  EXPECT_TRUE(r.topic_created);
  EXPECT_EQ(registry.topic_count(), 1u);
}

TEST_F(TopicRegistryTest, SecondSubscriberJoinsTheExistingTopic) {
  registry.subscribe(&a, "room");
  const auto r = registry.subscribe(&b, "room");
  EXPECT_TRUE(r.added);
  EXPECT_FALSE(r.topic_created);
  EXPECT_EQ(registry.topic_count(), 1u);
}

TEST_F(TopicRegistryTest, SubscribingTwiceIsIdempotent) {
  registry.subscribe(&a, "room");
  const auto r = registry.subscribe(&a, "room");
  EXPECT_FALSE(r.added);
  EXPECT_FALSE(r.topic_created);
  EXPECT_EQ(registry.subscription_count(), 1u);
  EXPECT_EQ(registry.subscription_count(&a), 1u);
  EXPECT_THAT(subscribers_of(registry, "room"), ElementsAre(&a));
}

TEST_F(TopicRegistryTest, SubscribersAreListedPerTopic) {
  registry.subscribe(&a, "x");
  registry.subscribe(&b, "x");
  registry.subscribe(&b, "y");
  EXPECT_THAT(subscribers_of(registry, "x"), UnorderedElementsAre(&a, &b));
  EXPECT_THAT(subscribers_of(registry, "y"), ElementsAre(&b));
}

TEST_F(TopicRegistryTest, UnknownTopicHasNoSubscriberList) {
  EXPECT_EQ(registry.subscribers("nobody"), nullptr);
}

TEST_F(TopicRegistryTest, TopicNamesAreCopied) {
  {
    std::string name = "temporary:topic";
    registry.subscribe(&a, name);
    name.assign(name.size(), 'z');  // the registry must not keep a view of the caller's string
  }
  EXPECT_TRUE(registry.is_subscribed(&a, "temporary:topic"));
  EXPECT_THAT(registry.topics_of(&a), ElementsAre("temporary:topic"));
  EXPECT_NE(registry.subscribers("temporary:topic"), nullptr);
}

TEST_F(TopicRegistryTest, TopicsAreCaseSensitive) {
  registry.subscribe(&a, "Room");
  EXPECT_TRUE(registry.subscribe(&a, "room").topic_created);
  EXPECT_EQ(registry.topic_count(), 2u);
}

// ---------------------------------------------------------------------------------------------
// unsubscribe

TEST_F(TopicRegistryTest, UnsubscribingTheLastSubscriberRemovesTheTopic) {
  registry.subscribe(&a, "room");
  const auto r = registry.unsubscribe(&a, "room");
  EXPECT_TRUE(r.removed);
  EXPECT_TRUE(r.topic_removed);
  EXPECT_EQ(registry.topic_count(), 0u);
  EXPECT_EQ(registry.subscribers("room"), nullptr);
}

TEST_F(TopicRegistryTest, UnsubscribingOneOfTwoKeepsTheTopic) {
  registry.subscribe(&a, "room");
  registry.subscribe(&b, "room");
  const auto r = registry.unsubscribe(&a, "room");
  EXPECT_TRUE(r.removed);
  EXPECT_FALSE(r.topic_removed);
  EXPECT_THAT(subscribers_of(registry, "room"), ElementsAre(&b));
}

TEST_F(TopicRegistryTest, UnsubscribingTwiceIsIdempotent) {
  registry.subscribe(&a, "room");
  registry.subscribe(&b, "room");
  registry.unsubscribe(&a, "room");
  const auto r = registry.unsubscribe(&a, "room");
  EXPECT_FALSE(r.removed);
  EXPECT_FALSE(r.topic_removed);
  EXPECT_THAT(subscribers_of(registry, "room"), ElementsAre(&b));
  EXPECT_EQ(registry.subscription_count(), 1u);
}

TEST_F(TopicRegistryTest, UnsubscribingFromAnUnknownTopicDoesNothing) {
  registry.subscribe(&a, "room");
  const auto r = registry.unsubscribe(&a, "other");
  EXPECT_FALSE(r.removed);
  EXPECT_FALSE(r.topic_removed);
  EXPECT_TRUE(registry.is_subscribed(&a, "room"));
}

TEST_F(TopicRegistryTest, UnsubscribingFromAnotherSubscribersTopicDoesNothing) {
  registry.subscribe(&a, "room");
  registry.subscribe(&b, "other");
  const auto r = registry.unsubscribe(&b, "room");
  EXPECT_FALSE(r.removed);
  EXPECT_THAT(subscribers_of(registry, "room"), ElementsAre(&a));
}

TEST_F(TopicRegistryTest, UnknownSubscriberUnsubscribesToNothing) {
  const auto r = registry.unsubscribe(&a, "room");
  EXPECT_FALSE(r.removed);
  EXPECT_FALSE(r.topic_removed);
}

TEST_F(TopicRegistryTest, TopicCanBeRecreatedAfterRemoval) {
  registry.subscribe(&a, "room");
  registry.unsubscribe(&a, "room");
  const auto r = registry.subscribe(&b, "room");
  EXPECT_TRUE(r.added);
  EXPECT_TRUE(r.topic_created);
  EXPECT_THAT(subscribers_of(registry, "room"), ElementsAre(&b));
}

// ---------------------------------------------------------------------------------------------
// swap-and-pop

TEST_F(TopicRegistryTest, RemovingFromTheMiddleKeepsEveryOtherSubscriber) {
  for (Sub* s : {&a, &b, &c, &d}) registry.subscribe(s, "room");
  registry.unsubscribe(&b, "room");
  EXPECT_THAT(subscribers_of(registry, "room"), UnorderedElementsAre(&a, &c, &d));
}

TEST_F(TopicRegistryTest, RemovingTheFirstKeepsEveryOtherSubscriber) {
  for (Sub* s : {&a, &b, &c, &d}) registry.subscribe(s, "room");
  registry.unsubscribe(&a, "room");
  EXPECT_THAT(subscribers_of(registry, "room"), UnorderedElementsAre(&b, &c, &d));
}

TEST_F(TopicRegistryTest, RemovingTheLastKeepsEveryOtherSubscriber) {
  for (Sub* s : {&a, &b, &c, &d}) registry.subscribe(s, "room");
  registry.unsubscribe(&d, "room");
  EXPECT_THAT(subscribers_of(registry, "room"), UnorderedElementsAre(&a, &b, &c));
}

TEST_F(TopicRegistryTest, SubscriberMovedIntoAHoleCanStillBeRemoved) {
  for (Sub* s : {&a, &b, &c, &d}) registry.subscribe(s, "room");
  registry.unsubscribe(&a, "room");  // d moves into a's slot
  EXPECT_TRUE(registry.unsubscribe(&d, "room").removed);
  EXPECT_THAT(subscribers_of(registry, "room"), UnorderedElementsAre(&b, &c));
  EXPECT_TRUE(registry.unsubscribe(&b, "room").removed);
  EXPECT_TRUE(registry.unsubscribe(&c, "room").topic_removed);
  EXPECT_EQ(registry.topic_count(), 0u);
}

TEST_F(TopicRegistryTest, ResubscribingAfterASwapDoesNotDuplicate) {
  for (Sub* s : {&a, &b, &c}) registry.subscribe(s, "room");
  registry.unsubscribe(&a, "room");
  EXPECT_FALSE(registry.subscribe(&c, "room").added);
  EXPECT_TRUE(registry.subscribe(&a, "room").added);
  EXPECT_THAT(subscribers_of(registry, "room"), UnorderedElementsAre(&a, &b, &c));
}

// ---------------------------------------------------------------------------------------------
// unsubscribe_all

TEST_F(TopicRegistryTest, UnsubscribeAllReportsEveryTopicOnce) {
  registry.subscribe(&a, "x");
  registry.subscribe(&a, "y");
  registry.subscribe(&a, "z");
  registry.subscribe(&b, "y");
  std::vector<std::pair<std::string, bool>> calls;
  registry.unsubscribe_all(&a, [&](std::string_view topic, bool topic_removed) {
    calls.emplace_back(std::string(topic), topic_removed);
  });
  EXPECT_THAT(calls, UnorderedElementsAre(std::pair<std::string, bool>{"x", true},
                                          std::pair<std::string, bool>{"y", false},
                                          std::pair<std::string, bool>{"z", true}));
}

TEST_F(TopicRegistryTest, UnsubscribeAllLeavesOtherSubscribersInPlace) {
  registry.subscribe(&a, "x");
  registry.subscribe(&b, "x");
  registry.subscribe(&c, "x");
  registry.subscribe(&a, "y");
  registry.unsubscribe_all(&a, [](std::string_view, bool) {});
  EXPECT_THAT(subscribers_of(registry, "x"), UnorderedElementsAre(&b, &c));
  EXPECT_EQ(registry.subscribers("y"), nullptr);
  EXPECT_EQ(registry.topic_count(), 1u);
  EXPECT_EQ(registry.subscription_count(), 2u);
}

TEST_F(TopicRegistryTest, UnsubscribeAllForgetsTheSubscriber) {
  registry.subscribe(&a, "x");
  registry.subscribe(&a, "y");
  registry.unsubscribe_all(&a, [](std::string_view, bool) {});
  EXPECT_EQ(registry.subscription_count(&a), 0u);
  EXPECT_THAT(registry.topics_of(&a), IsEmpty());
  EXPECT_FALSE(registry.is_subscribed(&a, "x"));
  EXPECT_FALSE(registry.unsubscribe(&a, "x").removed);
}

TEST_F(TopicRegistryTest, UnsubscribeAllOfAnUnknownSubscriberCallsNothing) {
  registry.subscribe(&a, "x");
  int calls = 0;
  registry.unsubscribe_all(&b, [&](std::string_view, bool) { ++calls; });
  EXPECT_EQ(calls, 0);
  EXPECT_THAT(subscribers_of(registry, "x"), ElementsAre(&a));
}

TEST_F(TopicRegistryTest, UnsubscribeAllCallbackTopicOutlivesTheRemovedTopic) {
  // The topic name passed to the callback must still be readable when the topic was deleted.
  registry.subscribe(&a, std::string(64, 'q'));
  std::string seen;
  registry.unsubscribe_all(&a, [&](std::string_view topic, bool topic_removed) {
    EXPECT_TRUE(topic_removed);
    seen = std::string(topic);
  });
  EXPECT_EQ(seen, std::string(64, 'q'));
}

TEST_F(TopicRegistryTest, SubscriberCanResubscribeAfterUnsubscribeAll) {
  registry.subscribe(&a, "x");
  registry.unsubscribe_all(&a, [](std::string_view, bool) {});
  const auto r = registry.subscribe(&a, "x");
  EXPECT_TRUE(r.added);
  EXPECT_TRUE(r.topic_created);
}

// ---------------------------------------------------------------------------------------------
// Counts and queries

TEST_F(TopicRegistryTest, EmptyRegistryCountsNothing) {
  EXPECT_EQ(registry.topic_count(), 0u);
  EXPECT_EQ(registry.subscription_count(), 0u);
  EXPECT_EQ(registry.subscription_count(&a), 0u);
  EXPECT_THAT(registry.topics_of(&a), IsEmpty());
  EXPECT_FALSE(registry.is_subscribed(&a, "x"));
}

TEST_F(TopicRegistryTest, CountsFollowSubscriptions) {
  registry.subscribe(&a, "x");
  registry.subscribe(&a, "y");
  registry.subscribe(&b, "x");
  EXPECT_EQ(registry.topic_count(), 2u);
  EXPECT_EQ(registry.subscription_count(), 3u);
  EXPECT_EQ(registry.subscription_count(&a), 2u);
  EXPECT_EQ(registry.subscription_count(&b), 1u);
  registry.unsubscribe(&a, "x");
  EXPECT_EQ(registry.topic_count(), 2u);
  EXPECT_EQ(registry.subscription_count(), 2u);
  EXPECT_EQ(registry.subscription_count(&a), 1u);
}

TEST_F(TopicRegistryTest, TopicsOfListsTheSubscribersTopics) {
  registry.subscribe(&a, "x");
  registry.subscribe(&a, "y");
  registry.subscribe(&b, "z");
  EXPECT_THAT(registry.topics_of(&a), UnorderedElementsAre("x", "y"));
  EXPECT_THAT(registry.topics_of(&b), ElementsAre("z"));
}

TEST_F(TopicRegistryTest, IsSubscribedIsPerSubscriberAndTopic) {
  registry.subscribe(&a, "x");
  EXPECT_TRUE(registry.is_subscribed(&a, "x"));
  EXPECT_FALSE(registry.is_subscribed(&a, "y"));
  EXPECT_FALSE(registry.is_subscribed(&b, "x"));
}

// ---------------------------------------------------------------------------------------------
// Randomized comparison against a simple model

// The obvious implementation: topic -> set of subscribers.
class ReferenceModel {
 public:
  Registry::SubscribeResult subscribe(Sub* s, const std::string& topic) {
    auto& subs = topics_[topic];
    const bool created = subs.empty();
    const bool added = subs.insert(s).second;
    return {added, created && added};
  }
  Registry::UnsubscribeResult unsubscribe(Sub* s, const std::string& topic) {
    auto it = topics_.find(topic);
    if (it == topics_.end() || it->second.erase(s) == 0) return {};
    const bool emptied = it->second.empty();
    if (emptied) topics_.erase(it);
    return {true, emptied};
  }
  std::map<std::string, bool> unsubscribe_all(Sub* s) {
    std::map<std::string, bool> out;
    for (auto it = topics_.begin(); it != topics_.end();) {
      if (it->second.erase(s) > 0) {
        out[it->first] = it->second.empty();
        if (it->second.empty()) {
          it = topics_.erase(it);
          continue;
        }
      }
      ++it;
    }
    return out;
  }
  const std::map<std::string, std::set<Sub*>>& topics() const { return topics_; }

 private:
  std::map<std::string, std::set<Sub*>> topics_;
};

void expect_same_state(const Registry& registry, const ReferenceModel& model,
                       const std::vector<Sub>& subs, const std::vector<std::string>& topic_names) {
  std::size_t total = 0;
  for (const auto& [topic, members] : model.topics()) total += members.size();
  ASSERT_EQ(registry.topic_count(), model.topics().size());
  ASSERT_EQ(registry.subscription_count(), total);
  for (const std::string& topic : topic_names) {
    auto it = model.topics().find(topic);
    if (it == model.topics().end()) {
      ASSERT_EQ(registry.subscribers(topic), nullptr) << topic;
      continue;
    }
    const std::vector<Sub*> actual = subscribers_of(registry, topic);
    ASSERT_THAT(actual, UnorderedElementsAreArray(it->second.begin(), it->second.end())) << topic;
    ASSERT_EQ(std::set<Sub*>(actual.begin(), actual.end()).size(), actual.size())
        << "duplicate subscriber in " << topic;
  }
  for (const Sub& sub : subs) {
    Sub* s = const_cast<Sub*>(&sub);
    std::set<std::string> expected;
    for (const auto& [topic, members] : model.topics()) {
      if (members.count(s) > 0) expected.insert(topic);
    }
    const std::vector<std::string> actual = registry.topics_of(s);
    ASSERT_EQ(std::set<std::string>(actual.begin(), actual.end()), expected) << "sub " << sub.id;
    ASSERT_EQ(registry.subscription_count(s), expected.size());
    for (const std::string& topic : topic_names) {
      ASSERT_EQ(registry.is_subscribed(s, topic), expected.count(topic) > 0);
    }
    // Each slot points at the subscriber's own place in its topic's list.
    for (const auto& slot : sub.slots) {
      const std::vector<Sub*>* in_topic = registry.subscribers(slot.topic->first);
      ASSERT_NE(in_topic, nullptr);
      ASSERT_LT(slot.index, in_topic->size());
      ASSERT_EQ((*in_topic)[slot.index], s) << "sub " << sub.id << " in " << slot.topic->first;
    }
  }
}

TEST(TopicRegistryRandomTest, MatchesAReferenceModelOverRandomOperations) {
  std::mt19937 rng(20240601);  // fixed seed: deterministic
  std::vector<Sub> subs(24);
  for (int i = 0; i < static_cast<int>(subs.size()); ++i) subs[i].id = i;
  std::vector<std::string> topic_names;
  for (int i = 0; i < 8; ++i) topic_names.push_back("topic:" + std::to_string(i));

  Registry registry;
  ReferenceModel model;
  std::uniform_int_distribution<int> pick_sub(0, static_cast<int>(subs.size()) - 1);
  std::uniform_int_distribution<int> pick_topic(0, static_cast<int>(topic_names.size()) - 1);
  std::uniform_int_distribution<int> pick_op(0, 99);

  for (int step = 0; step < 5000; ++step) {
    SCOPED_TRACE("step " + std::to_string(step));
    Sub* s = &subs[pick_sub(rng)];
    const std::string& topic = topic_names[pick_topic(rng)];
    const int op = pick_op(rng);
    if (op < 55) {
      const auto expected = model.subscribe(s, topic);
      const auto actual = registry.subscribe(s, topic);
      ASSERT_EQ(actual.added, expected.added);
      ASSERT_EQ(actual.topic_created, expected.topic_created);
    } else if (op < 95) {
      const auto expected = model.unsubscribe(s, topic);
      const auto actual = registry.unsubscribe(s, topic);
      ASSERT_EQ(actual.removed, expected.removed);
      ASSERT_EQ(actual.topic_removed, expected.topic_removed);
    } else {
      const auto expected = model.unsubscribe_all(s);
      std::map<std::string, bool> actual;
      registry.unsubscribe_all(s, [&](std::string_view t, bool topic_removed) {
        ASSERT_TRUE(actual.emplace(std::string(t), topic_removed).second) << "twice: " << t;
      });
      ASSERT_EQ(actual, expected);
    }
    expect_same_state(registry, model, subs, topic_names);
    if (HasFatalFailure()) return;
  }
}

TEST(TopicRegistryRandomTest, ManySubscribersOnOneTopicSurviveRandomRemovals) {
  std::mt19937 rng(7);
  std::vector<Sub> subs(500);
  Registry registry;
  for (Sub& s : subs) registry.subscribe(&s, "hot");
  std::vector<Sub*> remaining;
  for (Sub& s : subs) remaining.push_back(&s);
  std::shuffle(remaining.begin(), remaining.end(), rng);
  while (remaining.size() > 1) {
    Sub* gone = remaining.back();
    remaining.pop_back();
    const auto r = registry.unsubscribe(gone, "hot");
    ASSERT_TRUE(r.removed);
    ASSERT_FALSE(r.topic_removed);
    std::vector<Sub*> actual = subscribers_of(registry, "hot");
    std::vector<Sub*> expected = remaining;
    std::sort(actual.begin(), actual.end());
    std::sort(expected.begin(), expected.end());
    ASSERT_EQ(actual, expected);
  }
  EXPECT_TRUE(registry.unsubscribe(remaining.front(), "hot").topic_removed);
  EXPECT_EQ(registry.topic_count(), 0u);
}

}  // namespace
}  // namespace realtime
