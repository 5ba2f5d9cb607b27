#include "core/typing_state.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <ostream>

namespace realtime {

void PrintTo(const TypingChange& c, std::ostream* os) {
  *os << "{" << c.user_id << (c.typing ? " starts" : " stops") << " in " << c.topic << " thread '"
      << c.thread_id << "' from " << c.connection_id << "}";
}

namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;
using namespace std::chrono_literals;

class TypingStateTest : public ::testing::Test {
 protected:
  TypingState state{5s, 1s};
  TypingState::Clock::time_point t0{};
};

TypingChange starts(std::string conn, std::string user, std::string topic,
                    std::string thread = {}) {
  return {std::move(topic), std::move(user), std::move(thread), std::move(conn), true};
}
TypingChange stops(std::string conn, std::string user, std::string topic, std::string thread = {}) {
  return {std::move(topic), std::move(user), std::move(thread), std::move(conn), false};
}

TEST_F(TypingStateTest, FirstStartIsAnnounced) {
  EXPECT_EQ(state.start("c1", "alice", "room", "", t0), starts("c1", "alice", "room"));
  EXPECT_THAT(state.typing_in("room"), ElementsAre("alice"));
}

TEST_F(TypingStateTest, StartsWithinTheCoalesceWindowAreSilent) {
  ASSERT_TRUE(state.start("c1", "alice", "room", "", t0));
  for (int i = 1; i < 10; ++i) {
    EXPECT_EQ(state.start("c1", "alice", "room", "", t0 + i * 90ms), std::nullopt);
  }
}

TEST_F(TypingStateTest, StartAfterTheWindowIsAnnouncedAgain) {
  ASSERT_TRUE(state.start("c1", "alice", "room", "", t0));
  EXPECT_EQ(state.start("c1", "alice", "room", "", t0 + 1s), starts("c1", "alice", "room"));
}

TEST_F(TypingStateTest, StartInAnotherThreadIsAnnouncedAtOnce) {
  ASSERT_TRUE(state.start("c1", "alice", "room", "t1", t0));
  EXPECT_EQ(state.start("c1", "alice", "room", "t2", t0 + 10ms),
            starts("c1", "alice", "room", "t2"));
}

TEST_F(TypingStateTest, StopEndsTypingAndCarriesTheThread) {
  ASSERT_TRUE(state.start("c1", "alice", "room", "t1", t0));
  EXPECT_EQ(state.stop("c1", "alice", "room"), stops("c1", "alice", "room", "t1"));
  EXPECT_THAT(state.typing_in("room"), IsEmpty());
  EXPECT_EQ(state.size(), 0u);
}

TEST_F(TypingStateTest, StopWithoutStartIsSilent) {
  EXPECT_EQ(state.stop("c1", "alice", "room"), std::nullopt);
}

TEST_F(TypingStateTest, StopFromAnotherConnectionIsIgnored) {
  ASSERT_TRUE(state.start("c1", "alice", "room", "", t0));
  EXPECT_EQ(state.stop("c2", "alice", "room"), std::nullopt);
  EXPECT_THAT(state.typing_in("room"), ElementsAre("alice"));
}

TEST_F(TypingStateTest, SilenceBecomesAStopAfterTheTimeout) {
  ASSERT_TRUE(state.start("c1", "alice", "room", "", t0));
  EXPECT_THAT(state.expire(t0 + 4999ms), IsEmpty());
  EXPECT_THAT(state.expire(t0 + 5s), ElementsAre(stops("c1", "alice", "room")));
  EXPECT_THAT(state.typing_in("room"), IsEmpty());
}

TEST_F(TypingStateTest, ACoalescedStartStillRefreshesTheTimeout) {
  ASSERT_TRUE(state.start("c1", "alice", "room", "", t0));
  ASSERT_FALSE(state.start("c1", "alice", "room", "", t0 + 500ms));
  EXPECT_THAT(state.expire(t0 + 5s), IsEmpty());
  EXPECT_THAT(state.expire(t0 + 5500ms), ElementsAre(stops("c1", "alice", "room")));
}

TEST_F(TypingStateTest, NextExpiryIsTheEarliest) {
  EXPECT_EQ(state.next_expiry(), std::nullopt);
  ASSERT_TRUE(state.start("c1", "alice", "room", "", t0 + 2s));
  ASSERT_TRUE(state.start("c2", "bob", "room", "", t0));
  EXPECT_EQ(state.next_expiry(), t0 + 5s);
}

TEST_F(TypingStateTest, DisconnectStopsEveryTopicOfThatConnectionOnly) {
  ASSERT_TRUE(state.start("c1", "alice", "a", "", t0));
  ASSERT_TRUE(state.start("c1", "alice", "b", "", t0));
  ASSERT_TRUE(state.start("c2", "bob", "a", "", t0));
  EXPECT_THAT(state.disconnect("c1"),
              UnorderedElementsAre(stops("c1", "alice", "a"), stops("c1", "alice", "b")));
  EXPECT_THAT(state.typing_in("a"), ElementsAre("bob"));
  EXPECT_THAT(state.disconnect("c1"), IsEmpty());
}

TEST_F(TypingStateTest, TheLatestTabOwnsTheTyping) {
  ASSERT_TRUE(state.start("c1", "alice", "room", "", t0));
  ASSERT_FALSE(state.start("c2", "alice", "room", "", t0 + 100ms));
  // The first tab closing does not stop what the second tab is typing.
  EXPECT_THAT(state.disconnect("c1"), IsEmpty());
  EXPECT_EQ(state.stop("c2", "alice", "room"), stops("c2", "alice", "room"));
}

TEST_F(TypingStateTest, TypingInListsUsersOfThatTopicSorted) {
  ASSERT_TRUE(state.start("c3", "carol", "room", "", t0));
  ASSERT_TRUE(state.start("c1", "alice", "room", "", t0));
  ASSERT_TRUE(state.start("c2", "bob", "room:2", "", t0));
  EXPECT_THAT(state.typing_in("room"), ElementsAre("alice", "carol"));
  EXPECT_THAT(state.typing_in("roo"), IsEmpty());
}

}  // namespace
}  // namespace realtime
