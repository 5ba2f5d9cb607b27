#include "core/presence_state.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace realtime {

// Readable failure messages.
void PrintTo(const PresenceChange& c, std::ostream* os) {
  *os << "{" << c.user_id << " in " << c.topic << ": " << to_string(c.old_status) << " -> "
      << to_string(c.new_status) << "}";
}

namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

constexpr auto offline = PresenceStatus::offline;
constexpr auto away = PresenceStatus::away;
constexpr auto online = PresenceStatus::online;
constexpr auto dnd = PresenceStatus::dnd;

PresenceChange change(std::string user, std::string topic, PresenceStatus from, PresenceStatus to) {
  return {std::move(user), std::move(topic), from, to};
}

// users_in() sorted by user id, as (user, status, connections) for easy comparison.
struct Row {
  std::string user_id;
  PresenceStatus status;
  int connections;
  bool operator==(const Row&) const = default;
};

void PrintTo(const Row& r, std::ostream* os) {
  *os << "{" << r.user_id << ", " << to_string(r.status) << ", " << r.connections << "}";
}

std::vector<Row> rows(const PresenceState& state, std::string_view topic) {
  std::vector<Row> out;
  for (const UserPresence& u : state.users_in(topic)) {
    out.push_back({u.user_id, u.status, u.connections});
  }
  std::sort(out.begin(), out.end(),
            [](const Row& a, const Row& b) { return a.user_id < b.user_id; });
  return out;
}

class PresenceStateTest : public ::testing::Test {
 protected:
  PresenceState state;
};

// ---------------------------------------------------------------------------------------------
// Status strings

TEST(PresenceStatusTest, EveryStatusRoundTripsThroughItsName) {
  for (PresenceStatus s : {offline, away, online, dnd}) {
    EXPECT_EQ(parse_presence_status(to_string(s)), s);
  }
  EXPECT_EQ(to_string(dnd), "dnd");
  EXPECT_EQ(to_string(offline), "offline");
}

TEST(PresenceStatusTest, UnknownNameParsesToNothing) {
  EXPECT_EQ(parse_presence_status("busy"), std::nullopt);
  EXPECT_EQ(parse_presence_status(""), std::nullopt);
  EXPECT_EQ(parse_presence_status("Online"), std::nullopt);
}

// ---------------------------------------------------------------------------------------------
// connect / join

TEST_F(PresenceStateTest, UnknownUserIsOffline) { EXPECT_EQ(state.status_of("ghost"), offline); }

TEST_F(PresenceStateTest, ConnectedUserIsOnlineByDefault) {
  state.connect("c1", "alice");
  EXPECT_EQ(state.status_of("alice"), online);
  EXPECT_EQ(state.connection_count(), 1u);
  EXPECT_EQ(state.user_count(), 1u);
}

TEST_F(PresenceStateTest, UsersListsEachConnectedUserOnce) {
  EXPECT_THAT(state.users(), IsEmpty());
  state.connect("c1", "alice");
  state.connect("c2", "alice");
  state.connect("c3", "bob");
  EXPECT_THAT(state.users(), UnorderedElementsAre("alice", "bob"));
  state.disconnect("c3");
  state.disconnect("c1");
  EXPECT_THAT(state.users(), ElementsAre("alice"));
  state.disconnect("c2");
  EXPECT_THAT(state.users(), IsEmpty());
}

TEST_F(PresenceStateTest, ConnectWithAStatusUsesIt) {
  state.connect("c1", "alice", away);
  EXPECT_EQ(state.status_of("alice"), away);
}

TEST_F(PresenceStateTest, ConnectingAsOfflineCountsAsOnline) {
  state.connect("c1", "alice", offline);
  EXPECT_EQ(state.status_of("alice"), online);
}

TEST_F(PresenceStateTest, ConnectingTheSameConnectionTwiceIsIgnored) {
  state.connect("c1", "alice");
  state.connect("c1", "bob");
  EXPECT_EQ(state.connection_count(), 1u);
  EXPECT_EQ(state.status_of("bob"), offline);
  EXPECT_EQ(state.user_count(), 1u);
}

TEST_F(PresenceStateTest, FirstJoinMakesTheUserAppearInTheTopic) {
  state.connect("c1", "alice");
  EXPECT_THAT(state.join("c1", "room"), ElementsAre(change("alice", "room", offline, online)));
}

TEST_F(PresenceStateTest, JoinReportsTheUsersFoldedStatus) {
  state.connect("c1", "alice", dnd);
  EXPECT_THAT(state.join("c1", "room"), ElementsAre(change("alice", "room", offline, dnd)));
}

TEST_F(PresenceStateTest, JoinFromAnotherTabReportsTheStatusOfAllTabs) {
  state.connect("c1", "alice", dnd);  // in no topic
  state.connect("c2", "alice", away);
  EXPECT_THAT(state.join("c2", "room"), ElementsAre(change("alice", "room", offline, dnd)));
}

TEST_F(PresenceStateTest, JoiningTwiceEmitsOnce) {
  state.connect("c1", "alice");
  state.join("c1", "room");
  EXPECT_THAT(state.join("c1", "room"), IsEmpty());
  EXPECT_THAT(rows(state, "room"), ElementsAre(Row{"alice", online, 1}));
}

TEST_F(PresenceStateTest, SecondTabJoiningTheSameTopicEmitsNothing) {
  state.connect("c1", "alice");
  state.connect("c2", "alice");
  state.join("c1", "room");
  EXPECT_THAT(state.join("c2", "room"), IsEmpty());
  EXPECT_THAT(rows(state, "room"), ElementsAre(Row{"alice", online, 2}));
}

TEST_F(PresenceStateTest, JoinOfAnUnknownConnectionEmitsNothing) {
  EXPECT_THAT(state.join("nope", "room"), IsEmpty());
  EXPECT_THAT(state.users_in("room"), IsEmpty());
}

TEST_F(PresenceStateTest, EachTopicIsJoinedSeparately) {
  state.connect("c1", "alice");
  EXPECT_THAT(state.join("c1", "a"), ElementsAre(change("alice", "a", offline, online)));
  EXPECT_THAT(state.join("c1", "b"), ElementsAre(change("alice", "b", offline, online)));
}

// ---------------------------------------------------------------------------------------------
// Folding dnd > online > away

TEST_F(PresenceStateTest, DndWinsOverOnline) {
  state.connect("c1", "alice", online);
  state.connect("c2", "alice", dnd);
  EXPECT_EQ(state.status_of("alice"), dnd);
}

TEST_F(PresenceStateTest, OnlineWinsOverAway) {
  state.connect("c1", "alice", away);
  state.connect("c2", "alice", online);
  EXPECT_EQ(state.status_of("alice"), online);
}

TEST_F(PresenceStateTest, DndWinsOverAway) {
  state.connect("c1", "alice", away);
  state.connect("c2", "alice", dnd);
  EXPECT_EQ(state.status_of("alice"), dnd);
}

TEST_F(PresenceStateTest, AwayOnlyWhenEveryConnectionIsAway) {
  state.connect("c1", "alice", away);
  state.connect("c2", "alice", away);
  EXPECT_EQ(state.status_of("alice"), away);
  state.set_status("c2", online);
  EXPECT_EQ(state.status_of("alice"), online);
}

TEST_F(PresenceStateTest, FoldingFollowsEveryStatusChange) {
  state.connect("c1", "alice", away);
  state.connect("c2", "alice", away);
  state.connect("c3", "alice", away);
  state.set_status("c1", online);
  EXPECT_EQ(state.status_of("alice"), online);
  state.set_status("c2", dnd);
  EXPECT_EQ(state.status_of("alice"), dnd);
  state.set_status("c2", away);
  EXPECT_EQ(state.status_of("alice"), online);
  state.set_status("c1", away);
  EXPECT_EQ(state.status_of("alice"), away);
}

TEST_F(PresenceStateTest, UsersAreFoldedIndependently) {
  state.connect("c1", "alice", dnd);
  state.connect("c2", "bob", away);
  EXPECT_EQ(state.status_of("alice"), dnd);
  EXPECT_EQ(state.status_of("bob"), away);
}

// ---------------------------------------------------------------------------------------------
// set_status

TEST_F(PresenceStateTest, StatusChangeEmitsOneChangePerTopic) {
  state.connect("c1", "alice");
  state.join("c1", "a");
  state.join("c1", "b");
  EXPECT_THAT(
      state.set_status("c1", away),
      UnorderedElementsAre(change("alice", "a", online, away), change("alice", "b", online, away)));
}

TEST_F(PresenceStateTest, StatusChangeCoversTopicsJoinedByOtherTabs) {
  state.connect("c1", "alice");
  state.connect("c2", "alice");
  state.join("c1", "a");
  state.join("c2", "b");
  EXPECT_THAT(state.set_status("c2", dnd), UnorderedElementsAre(change("alice", "a", online, dnd),
                                                                change("alice", "b", online, dnd)));
}

TEST_F(PresenceStateTest, StatusChangeInTwoTabsOfOneTopicEmitsOneChange) {
  state.connect("c1", "alice");
  state.connect("c2", "alice");
  state.join("c1", "room");
  state.join("c2", "room");
  EXPECT_THAT(state.set_status("c1", dnd), ElementsAre(change("alice", "room", online, dnd)));
}

TEST_F(PresenceStateTest, StatusChangeThatDoesNotMoveTheFoldEmitsNothing) {
  state.connect("c1", "alice", online);
  state.connect("c2", "alice", online);
  state.join("c1", "room");
  EXPECT_THAT(state.set_status("c2", away), IsEmpty());
  EXPECT_EQ(state.status_of("alice"), online);
}

TEST_F(PresenceStateTest, SettingTheSameStatusEmitsNothing) {
  state.connect("c1", "alice", away);
  state.join("c1", "room");
  EXPECT_THAT(state.set_status("c1", away), IsEmpty());
}

TEST_F(PresenceStateTest, SettingOfflineIsIgnored) {
  state.connect("c1", "alice");
  state.join("c1", "room");
  EXPECT_THAT(state.set_status("c1", offline), IsEmpty());
  EXPECT_EQ(state.status_of("alice"), online);
  EXPECT_THAT(rows(state, "room"), ElementsAre(Row{"alice", online, 1}));
}

TEST_F(PresenceStateTest, StatusChangeOfAnUnknownConnectionEmitsNothing) {
  EXPECT_THAT(state.set_status("nope", away), IsEmpty());
}

TEST_F(PresenceStateTest, StatusChangeOutsideAnyTopicEmitsNothingButIsRemembered) {
  state.connect("c1", "alice");
  EXPECT_THAT(state.set_status("c1", dnd), IsEmpty());
  EXPECT_EQ(state.status_of("alice"), dnd);
  EXPECT_THAT(state.join("c1", "room"), ElementsAre(change("alice", "room", offline, dnd)));
}

TEST_F(PresenceStateTest, StatusChangeReachesOnlyTheUsersTopics) {
  state.connect("c1", "alice");
  state.connect("c2", "bob");
  state.join("c1", "a");
  state.join("c2", "b");
  EXPECT_THAT(state.set_status("c1", away), ElementsAre(change("alice", "a", online, away)));
}

// ---------------------------------------------------------------------------------------------
// leave

TEST_F(PresenceStateTest, LeavingTheLastConnectionInATopicEmitsOffline) {
  state.connect("c1", "alice", away);
  state.join("c1", "room");
  EXPECT_THAT(state.leave("c1", "room"), ElementsAre(change("alice", "room", away, offline)));
  EXPECT_THAT(state.users_in("room"), IsEmpty());
}

TEST_F(PresenceStateTest, LeavingKeepsTheUserInOtherTopics) {
  state.connect("c1", "alice");
  state.join("c1", "a");
  state.join("c1", "b");
  state.leave("c1", "a");
  EXPECT_THAT(state.users_in("a"), IsEmpty());
  EXPECT_THAT(rows(state, "b"), ElementsAre(Row{"alice", online, 1}));
  EXPECT_EQ(state.status_of("alice"), online);
}

TEST_F(PresenceStateTest, LeavingWhileAnotherTabStaysEmitsNothing) {
  state.connect("c1", "alice");
  state.connect("c2", "alice");
  state.join("c1", "room");
  state.join("c2", "room");
  EXPECT_THAT(state.leave("c1", "room"), IsEmpty());
  EXPECT_THAT(rows(state, "room"), ElementsAre(Row{"alice", online, 1}));
}

TEST_F(PresenceStateTest, LeavingATopicNotJoinedEmitsNothing) {
  state.connect("c1", "alice");
  state.connect("c2", "alice");
  state.join("c1", "room");
  EXPECT_THAT(state.leave("c2", "room"), IsEmpty());
  EXPECT_THAT(rows(state, "room"), ElementsAre(Row{"alice", online, 1}));
}

TEST_F(PresenceStateTest, LeavingTwiceEmitsOnce) {
  state.connect("c1", "alice");
  state.join("c1", "room");
  state.leave("c1", "room");
  EXPECT_THAT(state.leave("c1", "room"), IsEmpty());
}

TEST_F(PresenceStateTest, LeaveOfAnUnknownConnectionEmitsNothing) {
  EXPECT_THAT(state.leave("nope", "room"), IsEmpty());
}

TEST_F(PresenceStateTest, RejoiningAfterLeavingAppearsAgain) {
  state.connect("c1", "alice");
  state.join("c1", "room");
  state.leave("c1", "room");
  EXPECT_THAT(state.join("c1", "room"), ElementsAre(change("alice", "room", offline, online)));
}

TEST_F(PresenceStateTest, LeavingDoesNotChangeTheUsersStatus) {
  state.connect("c1", "alice", dnd);
  state.join("c1", "room");
  state.leave("c1", "room");
  EXPECT_EQ(state.status_of("alice"), dnd);
}

// ---------------------------------------------------------------------------------------------
// disconnect

TEST_F(PresenceStateTest, DisconnectEmitsOfflinePerTopic) {
  state.connect("c1", "alice");
  state.join("c1", "a");
  state.join("c1", "b");
  EXPECT_THAT(state.disconnect("c1"), UnorderedElementsAre(change("alice", "a", online, offline),
                                                           change("alice", "b", online, offline)));
  EXPECT_EQ(state.status_of("alice"), offline);
  EXPECT_EQ(state.connection_count(), 0u);
  EXPECT_EQ(state.user_count(), 0u);
  EXPECT_THAT(state.users_in("a"), IsEmpty());
  EXPECT_THAT(state.users_in("b"), IsEmpty());
}

TEST_F(PresenceStateTest, DisconnectReportsTheStatusTheUserHad) {
  state.connect("c1", "alice", dnd);
  state.join("c1", "room");
  EXPECT_THAT(state.disconnect("c1"), ElementsAre(change("alice", "room", dnd, offline)));
}

TEST_F(PresenceStateTest, DisconnectOutsideAnyTopicEmitsNothing) {
  state.connect("c1", "alice");
  EXPECT_THAT(state.disconnect("c1"), IsEmpty());
  EXPECT_EQ(state.status_of("alice"), offline);
}

TEST_F(PresenceStateTest, ClosingOneOfTwoTabsEmitsNothing) {
  state.connect("c1", "alice");
  state.connect("c2", "alice");
  state.join("c1", "room");
  state.join("c2", "room");
  EXPECT_THAT(state.disconnect("c1"), IsEmpty());
  EXPECT_EQ(state.status_of("alice"), online);
  EXPECT_THAT(rows(state, "room"), ElementsAre(Row{"alice", online, 1}));
  EXPECT_EQ(state.connection_count(), 1u);
  EXPECT_EQ(state.user_count(), 1u);
}

TEST_F(PresenceStateTest, ClosingBothTabsEmitsOfflineOnce) {
  state.connect("c1", "alice");
  state.connect("c2", "alice");
  state.join("c1", "room");
  state.join("c2", "room");
  EXPECT_THAT(state.disconnect("c1"), IsEmpty());
  EXPECT_THAT(state.disconnect("c2"), ElementsAre(change("alice", "room", online, offline)));
}

TEST_F(PresenceStateTest, ClosingTheDndTabMovesTheUserBackToOnline) {
  state.connect("c1", "alice", online);
  state.connect("c2", "alice", dnd);
  state.join("c1", "room");
  state.join("c2", "room");
  EXPECT_THAT(state.disconnect("c2"), ElementsAre(change("alice", "room", dnd, online)));
  EXPECT_EQ(state.status_of("alice"), online);
}

TEST_F(PresenceStateTest, ClosingATabThatAloneWasInATopicLeavesOnlyThatTopic) {
  state.connect("c1", "alice", online);
  state.connect("c2", "alice", online);
  state.join("c1", "a");
  state.join("c2", "b");
  EXPECT_THAT(state.disconnect("c1"), ElementsAre(change("alice", "a", online, offline)));
  EXPECT_THAT(state.users_in("a"), IsEmpty());
  EXPECT_THAT(rows(state, "b"), ElementsAre(Row{"alice", online, 1}));
}

TEST_F(PresenceStateTest, ClosingTheDndTabInAnotherTopicReportsBothTopicsCorrectly) {
  state.connect("c1", "alice", dnd);
  state.connect("c2", "alice", online);
  state.join("c1", "a");
  state.join("c2", "b");
  EXPECT_THAT(state.disconnect("c1"), UnorderedElementsAre(change("alice", "a", dnd, offline),
                                                           change("alice", "b", dnd, online)));
}

TEST_F(PresenceStateTest, DisconnectOfAnUnknownConnectionEmitsNothing) {
  EXPECT_THAT(state.disconnect("nope"), IsEmpty());
}

TEST_F(PresenceStateTest, DisconnectTwiceEmitsOnce) {
  state.connect("c1", "alice");
  state.join("c1", "room");
  state.disconnect("c1");
  EXPECT_THAT(state.disconnect("c1"), IsEmpty());
}

TEST_F(PresenceStateTest, ConnectionIdCanBeReusedAfterDisconnect) {
  state.connect("c1", "alice");
  state.disconnect("c1");
  state.connect("c1", "bob");
  EXPECT_THAT(state.join("c1", "room"), ElementsAre(change("bob", "room", offline, online)));
}

TEST_F(PresenceStateTest, ReconnectingUserStartsFresh) {
  state.connect("c1", "alice", dnd);
  state.join("c1", "room");
  state.disconnect("c1");
  state.connect("c2", "alice");
  EXPECT_EQ(state.status_of("alice"), online);
  EXPECT_THAT(state.join("c2", "room"), ElementsAre(change("alice", "room", offline, online)));
}

// ---------------------------------------------------------------------------------------------
// users_in and counts

TEST_F(PresenceStateTest, UsersInAnUnknownTopicIsEmpty) {
  EXPECT_THAT(state.users_in("nowhere"), IsEmpty());
}

TEST_F(PresenceStateTest, UsersInListsEachUserOnceWithStatusAndConnectionCount) {
  state.connect("a1", "alice", away);
  state.connect("a2", "alice", away);
  state.connect("a3", "alice", dnd);  // alice's third tab is not in the room
  state.connect("b1", "bob", online);
  state.connect("c1", "carol", away);
  state.join("a1", "room");
  state.join("a2", "room");
  state.join("b1", "room");
  state.join("c1", "elsewhere");
  EXPECT_THAT(rows(state, "room"), ElementsAre(Row{"alice", dnd, 2}, Row{"bob", online, 1}));
  EXPECT_THAT(rows(state, "elsewhere"), ElementsAre(Row{"carol", away, 1}));
}

TEST_F(PresenceStateTest, CountsTrackConnectionsAndUsers) {
  state.connect("a1", "alice");
  state.connect("a2", "alice");
  state.connect("b1", "bob");
  EXPECT_EQ(state.connection_count(), 3u);
  EXPECT_EQ(state.user_count(), 2u);
  state.disconnect("a1");
  EXPECT_EQ(state.connection_count(), 2u);
  EXPECT_EQ(state.user_count(), 2u);
  state.disconnect("a2");
  EXPECT_EQ(state.connection_count(), 1u);
  EXPECT_EQ(state.user_count(), 1u);
}

TEST_F(PresenceStateTest, OtherUsersAreNotAffectedByADisconnect) {
  state.connect("a1", "alice");
  state.connect("b1", "bob");
  state.join("a1", "room");
  state.join("b1", "room");
  EXPECT_THAT(state.disconnect("a1"), ElementsAre(change("alice", "room", online, offline)));
  EXPECT_THAT(rows(state, "room"), ElementsAre(Row{"bob", online, 1}));
}

// The members of a topic and the topics of a record are swap-removed lists: leaving from the
// front, the middle and the back, in many topics at once, must keep every other entry findable.
// Checked against a plain model after every step of a fixed pseudo-random walk.
TEST_F(PresenceStateTest, ManyJoinsAndLeavesMatchAPlainModel) {
  constexpr int kConnections = 12;  // users u0..u3, three connections each
  constexpr int kTopics = 5;
  auto conn = [](int c) { return "c" + std::to_string(c); };
  auto user = [](int c) { return "u" + std::to_string(c % 4); };
  auto topic = [](int t) { return "t" + std::to_string(t); };
  bool in[kConnections][kTopics] = {};
  bool connected[kConnections] = {};
  std::uint32_t seed = 12345;
  auto next = [&seed](int n) {
    seed = seed * 1664525u + 1013904223u;
    return static_cast<int>((seed >> 8) % static_cast<std::uint32_t>(n));
  };
  for (int step = 0; step < 4000; ++step) {
    const int c = next(kConnections);
    const int t = next(kTopics);
    switch (next(4)) {
      case 0:
        if (!connected[c]) {
          state.connect(conn(c), user(c));
          connected[c] = true;
        }
        break;
      case 1:
        state.join(conn(c), topic(t));
        if (connected[c]) in[c][t] = true;
        break;
      case 2:
        state.leave(conn(c), topic(t));
        in[c][t] = false;
        break;
      default:
        if (next(4) == 0) {
          state.disconnect(conn(c));
          connected[c] = false;
          for (bool& b : in[c]) b = false;
        }
    }
    for (int tt = 0; tt < kTopics; ++tt) {
      std::vector<Row> expected;
      for (int u = 0; u < 4; ++u) {
        int count = 0;
        for (int cc = u; cc < kConnections; cc += 4) count += in[cc][tt] ? 1 : 0;
        if (count > 0) expected.push_back({"u" + std::to_string(u), online, count});
      }
      ASSERT_EQ(rows(state, topic(tt)), expected) << "step " << step << ", topic " << tt;
    }
  }
}

}  // namespace
}  // namespace realtime
