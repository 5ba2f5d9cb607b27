#include "core/presence_coalescer.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <ostream>
#include <set>

namespace realtime {

void PrintTo(const TopicPresenceUpdate& u, std::ostream* os) {
  *os << "{" << u.topic << ":";
  for (const auto& c : u.changes) {
    *os << " " << c.user_id << " " << to_string(c.old_status) << "->" << to_string(c.new_status);
  }
  *os << "}";
}

namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using namespace std::chrono_literals;
using S = PresenceStatus;

PresenceChange change(std::string user, std::string topic, S from, S to) {
  return {std::move(user), std::move(topic), from, to};
}
PresenceChange joins(std::string user, std::string topic = "room") {
  return change(std::move(user), std::move(topic), S::offline, S::online);
}
PresenceChange leaves(std::string user, std::string topic = "room") {
  return change(std::move(user), std::move(topic), S::online, S::offline);
}

class PresenceCoalescerTest : public ::testing::Test {
 protected:
  std::vector<TopicPresenceUpdate> add(std::vector<PresenceChange> changes) {
    std::vector<TopicPresenceUpdate> out;
    coalescer.add(changes, now, out);
    return out;
  }
  // Moves the fake clock on and runs the timer if it is due.
  std::vector<TopicPresenceUpdate> advance(std::chrono::milliseconds by) {
    now += by;
    std::vector<TopicPresenceUpdate> out;
    if (auto deadline = coalescer.next_deadline(); deadline && *deadline <= now) {
      coalescer.expire(now, out);
    }
    return out;
  }

  std::set<std::string> muted_topics;
  PresenceCoalescer::Clock::time_point now{};
  PresenceCoalescer coalescer{100ms, [this](std::string_view topic) {
                                ++rule_lookups;
                                return !muted_topics.contains(std::string(topic));
                              }};
  int rule_lookups = 0;
};

TEST_F(PresenceCoalescerTest, ALoneChangeGoesOutAtOnceAndItsQuietWindowCloses) {
  EXPECT_THAT(add({joins("alice")}), ElementsAre(TopicPresenceUpdate{"room", {joins("alice")}}));
  EXPECT_EQ(coalescer.open_windows(), 1u);
  EXPECT_EQ(coalescer.next_deadline(), now + 100ms);
  EXPECT_THAT(advance(99ms), IsEmpty());
  EXPECT_THAT(advance(1ms), IsEmpty());
  EXPECT_EQ(coalescer.open_windows(), 0u);
  EXPECT_EQ(coalescer.next_deadline(), std::nullopt);
  // After the quiet window, the next change is a leading edge again.
  EXPECT_THAT(advance(500ms), IsEmpty());
  EXPECT_THAT(add({leaves("alice")}), ElementsAre(TopicPresenceUpdate{"room", {leaves("alice")}}));
  EXPECT_EQ(coalescer.counts().changed_events, 2u);
  EXPECT_EQ(coalescer.counts().coalesced, 0u);
}

TEST_F(PresenceCoalescerTest, ChangesInTheWindowGoOutTogetherAtItsEnd) {
  ASSERT_EQ(add({joins("a")}).size(), 1u);
  advance(10ms);
  EXPECT_THAT(add({joins("b"), joins("c")}), IsEmpty());
  advance(10ms);
  EXPECT_THAT(add({change("d", "room", S::away, S::offline)}), IsEmpty());
  EXPECT_EQ(coalescer.pending_users(), 3u);
  EXPECT_THAT(advance(80ms),
              ElementsAre(TopicPresenceUpdate{
                  "room", {joins("b"), joins("c"), change("d", "room", S::away, S::offline)}}));
  EXPECT_EQ(coalescer.counts().diff_events, 1u);
  EXPECT_EQ(coalescer.counts().coalesced, 3u);
}

TEST_F(PresenceCoalescerTest, AWindowWithOneChangeSendsItAsASingleChange) {
  add({joins("a")});
  add({joins("b")});
  EXPECT_THAT(advance(100ms), ElementsAre(TopicPresenceUpdate{"room", {joins("b")}}));
  EXPECT_EQ(coalescer.counts().changed_events, 2u);
  EXPECT_EQ(coalescer.counts().diff_events, 0u);
}

TEST_F(PresenceCoalescerTest, FoldsAUsersChangesFromTheFirstOldToTheLastNew) {
  add({joins("a")});
  add({joins("b"), change("b", "room", S::online, S::away), change("b", "room", S::away, S::dnd),
       joins("c")});
  EXPECT_THAT(advance(100ms), ElementsAre(TopicPresenceUpdate{
                                  "room", {change("b", "room", S::offline, S::dnd), joins("c")}}));
  EXPECT_EQ(coalescer.counts().coalesced, 4u);
}

TEST_F(PresenceCoalescerTest, AUserBackWhereTheyStartedIsDropped) {
  add({joins("a")});
  // b reconnects (offline, online again), c only toggles away and back: nothing to say.
  add({leaves("b"), joins("b"), change("c", "room", S::online, S::away),
       change("c", "room", S::away, S::online), joins("d")});
  EXPECT_THAT(advance(100ms), ElementsAre(TopicPresenceUpdate{"room", {joins("d")}}));
  add({leaves("e"), joins("e")});
  EXPECT_THAT(advance(100ms), IsEmpty());
  EXPECT_EQ(coalescer.counts().coalesced, 4u + 2u);
}

TEST_F(PresenceCoalescerTest, ChangesDuringAFlushsWindowOpenAnotherUntilAQuietOne) {
  add({joins("a")});
  add({joins("b")});
  EXPECT_EQ(advance(100ms).size(), 1u);  // b; a window follows
  EXPECT_EQ(coalescer.open_windows(), 1u);
  add({joins("c"), joins("d")});
  EXPECT_EQ(advance(50ms).size(), 0u);
  EXPECT_THAT(advance(50ms), ElementsAre(TopicPresenceUpdate{"room", {joins("c"), joins("d")}}));
  add({joins("e")});
  EXPECT_THAT(advance(100ms), ElementsAre(TopicPresenceUpdate{"room", {joins("e")}}));
  EXPECT_EQ(coalescer.open_windows(), 1u);
  EXPECT_THAT(advance(100ms), IsEmpty());  // quiet: closes
  EXPECT_EQ(coalescer.open_windows(), 0u);
  EXPECT_THAT(add({joins("f")}), ElementsAre(TopicPresenceUpdate{"room", {joins("f")}}));
}

TEST_F(PresenceCoalescerTest, TheNextWindowStartsWhenTheTimerRanNotWhenItWasDue) {
  add({joins("a")});
  add({joins("b")});
  now += 130ms;  // the timer ran late
  std::vector<TopicPresenceUpdate> out;
  coalescer.expire(now, out);
  EXPECT_EQ(out.size(), 1u);
  EXPECT_EQ(coalescer.next_deadline(), now + 100ms);
}

TEST_F(PresenceCoalescerTest, TopicsHaveWindowsOfTheirOwn) {
  EXPECT_EQ(add({joins("a", "one")}).size(), 1u);
  advance(50ms);
  EXPECT_THAT(add({joins("b", "one"), joins("a", "two")}),
              ElementsAre(TopicPresenceUpdate{"two", {joins("a", "two")}}));
  add({joins("c", "two")});
  EXPECT_THAT(advance(50ms), ElementsAre(TopicPresenceUpdate{"one", {joins("b", "one")}}));
  EXPECT_THAT(advance(50ms), ElementsAre(TopicPresenceUpdate{"two", {joins("c", "two")}}));
}

TEST_F(PresenceCoalescerTest, WindowZeroSendsEveryChangeAtOnce) {
  PresenceCoalescer direct{0ms, {}};
  std::vector<TopicPresenceUpdate> out;
  direct.add({joins("a"), joins("b"), leaves("a")}, now, out);
  EXPECT_THAT(out, ElementsAre(TopicPresenceUpdate{"room", {joins("a")}},
                               TopicPresenceUpdate{"room", {joins("b")}},
                               TopicPresenceUpdate{"room", {leaves("a")}}));
  EXPECT_EQ(direct.open_windows(), 0u);
  EXPECT_EQ(direct.next_deadline(), std::nullopt);
  EXPECT_EQ(direct.counts().changed_events, 3u);
}

TEST_F(PresenceCoalescerTest, AMutedTopicSendsNothingAndAsksTheRulesOncePerWindow) {
  muted_topics.insert("feed");
  EXPECT_THAT(add({joins("a", "feed"), joins("b", "feed")}), IsEmpty());
  EXPECT_THAT(add({joins("c", "feed"), leaves("a", "feed")}), IsEmpty());
  EXPECT_EQ(rule_lookups, 1);
  EXPECT_THAT(advance(100ms), IsEmpty());
  add({joins("d", "feed")});
  EXPECT_THAT(advance(100ms), IsEmpty());
  EXPECT_EQ(rule_lookups, 1);  // the window renewed with its decision
  EXPECT_EQ(coalescer.pending_users(), 0u);
  EXPECT_EQ(coalescer.counts().muted, 5u);
  EXPECT_EQ(coalescer.counts().changed_events + coalescer.counts().diff_events, 0u);
  // Other topics are unaffected.
  EXPECT_EQ(add({joins("a", "room")}).size(), 1u);
}

TEST_F(PresenceCoalescerTest, AMutedTopicWithWindowZeroSendsNothing) {
  PresenceCoalescer direct{0ms, [](std::string_view topic) { return topic != "feed"; }};
  std::vector<TopicPresenceUpdate> out;
  direct.add({joins("a", "feed"), joins("a", "room")}, now, out);
  EXPECT_THAT(out, ElementsAre(TopicPresenceUpdate{"room", {joins("a", "room")}}));
  EXPECT_EQ(direct.counts().muted, 1u);
}

TEST_F(PresenceCoalescerTest, AFullWindowGoesOutAtOnceAndStaysOpen) {
  PresenceCoalescer small{100ms, {}, 3};
  std::vector<TopicPresenceUpdate> out;
  small.add({joins("lead")}, now, out);
  out.clear();
  small.add({joins("a"), joins("b"), joins("a")}, now, out);  // two users pending
  EXPECT_THAT(out, IsEmpty());
  small.add({joins("c"), joins("d")}, now, out);
  EXPECT_THAT(out, ElementsAre(TopicPresenceUpdate{"room", {joins("a"), joins("b"), joins("c")}}));
  EXPECT_EQ(small.pending_users(), 1u);
  EXPECT_EQ(small.open_windows(), 1u);
  out.clear();
  small.expire(now + 100ms, out);
  EXPECT_THAT(out, ElementsAre(TopicPresenceUpdate{"room", {joins("d")}}));
}

TEST_F(PresenceCoalescerTest, PendingStateIsBoundedByTheTopicsUsers) {
  add({joins("lead")});
  for (int round = 0; round < 100; ++round) {
    for (int user = 0; user < 10; ++user) {
      add({leaves("u" + std::to_string(user)), joins("u" + std::to_string(user))});
    }
  }
  EXPECT_EQ(coalescer.pending_users(), 10u);
  EXPECT_THAT(advance(100ms), IsEmpty());  // everyone is back where they were
  EXPECT_THAT(advance(100ms), IsEmpty());
  EXPECT_EQ(coalescer.open_windows(), 0u);
  EXPECT_EQ(coalescer.pending_users(), 0u);
}

TEST_F(PresenceCoalescerTest, FlushAllSendsEveryPendingWindowAndClosesThem) {
  add({joins("a", "one"), joins("b", "one"), joins("c", "one")});
  add({joins("a", "two")});
  std::vector<TopicPresenceUpdate> out;
  coalescer.flush_all(out);
  EXPECT_THAT(out, ElementsAre(TopicPresenceUpdate{"one", {joins("b", "one"), joins("c", "one")}}));
  EXPECT_EQ(coalescer.open_windows(), 0u);
  EXPECT_EQ(coalescer.next_deadline(), std::nullopt);
  out.clear();
  coalescer.expire(now + 1s, out);
  EXPECT_THAT(out, IsEmpty());
}

TEST_F(PresenceCoalescerTest, AClockThatStepsBackKeepsTheQueueOrdered) {
  add({joins("a", "one")});
  std::vector<TopicPresenceUpdate> out;
  coalescer.add({joins("a", "two")}, now - 50ms, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(coalescer.next_deadline(), now + 100ms);
}

}  // namespace
}  // namespace realtime
