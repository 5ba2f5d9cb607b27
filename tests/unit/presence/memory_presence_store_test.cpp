// The UserSink of the embedded presence store: one report per change of a user's connection
// count or folded status, which is what last-seen persistence writes.
#include "presence/memory_presence_store.hpp"

#include <gtest/gtest.h>

namespace realtime {
namespace {

struct Reported {
  std::string user_id;
  PresenceStatus status;
  int connections;
  bool operator==(const Reported&) const = default;
};

class MemoryPresenceStoreUserSinkTest : public ::testing::Test {
 protected:
  std::vector<Reported> reports;
  MemoryPresenceStore store{[](const std::vector<PresenceChange>&) {},
                            [this](const UserChange& c) {
                              reports.push_back({c.user_id, c.status, c.connections});
                            }};
};

TEST_F(MemoryPresenceStoreUserSinkTest, ConnectAndDisconnectReportCountsAndOffline) {
  store.connect("c1", "alice");
  store.join("c1", "room");
  store.disconnect("c1");
  EXPECT_EQ(reports, (std::vector<Reported>{{"alice", PresenceStatus::online, 1},
                                            {"alice", PresenceStatus::offline, 0}}));
}

TEST_F(MemoryPresenceStoreUserSinkTest, TwoTabsCountBothAndClosingOneKeepsTheUserOnline) {
  store.connect("c1", "alice");
  store.connect("c2", "alice");
  store.disconnect("c1");
  store.disconnect("c2");
  EXPECT_EQ(reports, (std::vector<Reported>{{"alice", PresenceStatus::online, 1},
                                            {"alice", PresenceStatus::online, 2},
                                            {"alice", PresenceStatus::online, 1},
                                            {"alice", PresenceStatus::offline, 0}}));
}

TEST_F(MemoryPresenceStoreUserSinkTest, StatusChangesReportOnlyWhenTheFoldedStatusMoves) {
  store.connect("c1", "alice");
  store.connect("c2", "alice");
  reports.clear();
  store.set_status("c1", PresenceStatus::away);  // c2 still online: folded stays online
  EXPECT_TRUE(reports.empty());
  store.set_status("c2", PresenceStatus::away);
  store.set_status("c1", PresenceStatus::dnd);
  EXPECT_EQ(reports, (std::vector<Reported>{{"alice", PresenceStatus::away, 2},
                                            {"alice", PresenceStatus::dnd, 2}}));
}

TEST_F(MemoryPresenceStoreUserSinkTest, UnknownConnectionsReportNothing) {
  store.disconnect("nope");
  store.set_status("nope", PresenceStatus::away);
  store.connect("c1", "alice");
  store.connect("c1", "alice");  // the same connection twice counts once
  EXPECT_EQ(reports, (std::vector<Reported>{{"alice", PresenceStatus::online, 1}}));
}

TEST_F(MemoryPresenceStoreUserSinkTest, UsersConnectedFoldsEveryConnectionInAnyTopicOrNone) {
  store.connect("c1", "alice");
  store.connect("c2", "alice");
  store.join("c2", "room");
  store.set_status("c1", PresenceStatus::away);
  store.set_status("c2", PresenceStatus::dnd);
  store.connect("c3", "bob");  // in no topic
  store.connect("c4", "carol");
  store.disconnect("c4");
  std::vector<UserPresence> users;
  store.users_connected({"carol", "bob", "alice", "nobody"},
                        [&](std::vector<UserPresence> u) { users = std::move(u); });
  ASSERT_EQ(users.size(), 2u) << "the others have no connection";
  EXPECT_EQ(users[0].user_id, "bob");
  EXPECT_EQ(users[0].status, PresenceStatus::online);
  EXPECT_EQ(users[0].connections, 1);
  EXPECT_EQ(users[1].user_id, "alice");
  EXPECT_EQ(users[1].status, PresenceStatus::dnd);
  EXPECT_EQ(users[1].connections, 2);
}

}  // namespace
}  // namespace realtime
