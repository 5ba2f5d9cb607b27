// LastSeen: presence changes -> rows for the writer, and departed users in listings.
#include "storage/last_seen.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace realtime::storage {
namespace {

// A database that never opens: a writer that is never started answers lookups at once from its
// pending rows.
class NoDatabase final : public Database {
 public:
  SqlDialect dialect() const override { return SqlDialect::sqlite; }
  DatabaseKind kind() const override { return DatabaseKind::sqlite; }
  std::optional<DbError> open(Deadline) override { return DbError{"no", false}; }
  bool is_open() const override { return false; }
  void close() override {}
  std::optional<DbError> prepare(const std::string&, Deadline) override { return std::nullopt; }
  std::variant<Rows, DbError> run(const Statement&, Deadline) override {
    return DbError{"no", false};
  }
  void interrupt() override {}
};

std::vector<UserPresence> listing(LastSeen& l, std::string topic,
                                  std::vector<UserPresence> present) {
  std::vector<UserPresence> out;
  bool called = false;
  l.add_departed(std::move(topic), std::move(present), [&](std::vector<UserPresence> users) {
    called = true;
    out = std::move(users);
  });
  EXPECT_TRUE(called);  // without a writer the answer is synchronous
  return out;
}

TEST(LastSeenTest, UsersWhoLeftATopicAreListedOfflineWithWhenTheyLeft) {
  std::int64_t now = 1000;
  LastSeen l(nullptr, [&] { return now; });
  l.topic_changes({{"alice", "room", PresenceStatus::offline, PresenceStatus::online},
                   {"bob", "room", PresenceStatus::offline, PresenceStatus::online}});
  now = 2000;
  l.topic_changes({{"alice", "room", PresenceStatus::online, PresenceStatus::offline}});
  const auto users = listing(l, "room", {{"bob", PresenceStatus::online, 1, std::nullopt}});
  ASSERT_EQ(users.size(), 2u);
  EXPECT_EQ(users[0].user_id, "bob");
  EXPECT_EQ(users[1].user_id, "alice");
  EXPECT_EQ(users[1].status, PresenceStatus::offline);
  EXPECT_EQ(users[1].connections, 0);
  EXPECT_EQ(users[1].last_seen_ms, 2000);
}

TEST(LastSeenTest, AUserWhoCameBackIsListedOnlyAsPresent) {
  LastSeen l(nullptr, [] { return std::int64_t{5}; });
  l.topic_changes({{"alice", "room", PresenceStatus::online, PresenceStatus::offline}});
  const auto users = listing(l, "room", {{"alice", PresenceStatus::away, 1, std::nullopt}});
  ASSERT_EQ(users.size(), 1u);
  EXPECT_EQ(users[0].status, PresenceStatus::away);
  EXPECT_FALSE(users[0].last_seen_ms);
}

TEST(LastSeenTest, OtherTopicsAndStatusMovesAreNotDepartures) {
  LastSeen l(nullptr, [] { return std::int64_t{5}; });
  l.topic_changes({{"alice", "other", PresenceStatus::online, PresenceStatus::offline},
                   {"bob", "room", PresenceStatus::online, PresenceStatus::away}});
  EXPECT_TRUE(listing(l, "room", {}).empty());
}

TEST(LastSeenTest, StoredLastSeenWinsOverTheTimeOfLeaving) {
  WriterStats stats;
  LastSeenWriter writer(std::make_unique<NoDatabase>(), {}, stats);
  std::int64_t now = 100;
  LastSeen l(&writer, [&] { return now; });
  l.topic_changes({{"alice", "room", PresenceStatus::online, PresenceStatus::offline},
                   {"bob", "room", PresenceStatus::online, PresenceStatus::offline}});
  now = 300;
  l.user_changed({"alice", PresenceStatus::offline, 0});  // recorded with last_seen 300
  l.user_changed({"bob", PresenceStatus::online, 1});     // connected elsewhere
  now = 900;
  const auto users = listing(l, "room", {});
  ASSERT_EQ(users.size(), 2u);
  for (const auto& u : users) {
    EXPECT_EQ(u.status, PresenceStatus::offline);
    EXPECT_EQ(u.last_seen_ms, u.user_id == "alice" ? 300 : 900) << u.user_id;
  }
}

TEST(LastSeenTest, AChangeWithTheClustersTimeIsRecordedAtThatTime) {
  WriterStats stats;
  LastSeenWriter writer(std::make_unique<NoDatabase>(), {}, stats);
  LastSeen l(&writer, [] { return std::int64_t{10}; });
  l.user_changed({"alice", PresenceStatus::online, 2, 777});  // the Redis engine's time
  l.user_changed({"bob", PresenceStatus::online, 1});         // one node: its own clock
  std::vector<PresenceRow> rows;
  writer.lookup({"alice", "bob"}, [&](std::vector<PresenceRow> r) { rows = r; });
  std::sort(rows.begin(), rows.end(),
            [](const auto& a, const auto& b) { return a.user_id < b.user_id; });
  EXPECT_EQ(rows, (std::vector<PresenceRow>{{"alice", PresenceStatus::online, 777, 2},
                                            {"bob", PresenceStatus::online, 10, 1}}));
}

TEST(LastSeenTest, AbsentUsersAreAddedOfflineWithTheirRowsLastSeen) {
  WriterStats stats;
  LastSeenWriter writer(std::make_unique<NoDatabase>(), {}, stats);
  std::int64_t now = 100;
  LastSeen l(&writer, [&] { return now; });
  l.user_changed({"alice", PresenceStatus::offline, 0});  // a row: last seen at 100
  now = 500;
  std::vector<UserPresence> users;
  l.add_absent({"bob", "alice", "nobody"}, {{"bob", PresenceStatus::away, 1, std::nullopt}},
               [&](std::vector<UserPresence> u) { users = std::move(u); });
  ASSERT_EQ(users.size(), 3u);
  EXPECT_EQ(users[0].user_id, "bob");
  EXPECT_EQ(users[0].status, PresenceStatus::away);
  EXPECT_EQ(users[1].user_id, "alice");
  EXPECT_EQ(users[1].status, PresenceStatus::offline);
  EXPECT_EQ(users[1].last_seen_ms, 100);
  EXPECT_EQ(users[2].user_id, "nobody");
  EXPECT_EQ(users[2].status, PresenceStatus::offline);
  EXPECT_FALSE(users[2].last_seen_ms) << "no row: never seen";
}

TEST(LastSeenTest, WithoutADatabaseTheUsersWhoWentOfflineAreRemembered) {
  std::int64_t now = 5;
  LastSeen l(nullptr, [&] { return now; });
  l.user_changed({"alice", PresenceStatus::online, 1});
  l.user_changed({"alice", PresenceStatus::offline, 0});  // gone at 5
  l.user_changed({"bob", PresenceStatus::offline, 0});
  now = 9;
  l.user_changed({"bob", PresenceStatus::online, 1});  // back: nothing to remember
  std::vector<UserPresence> users;
  l.add_absent({"alice", "bob", "carol"}, {},
               [&](std::vector<UserPresence> u) { users = std::move(u); });
  ASSERT_EQ(users.size(), 3u);
  EXPECT_EQ(users[0].last_seen_ms, 5);
  EXPECT_FALSE(users[1].last_seen_ms) << "bob is online: the caller found him absent anyway";
  EXPECT_FALSE(users[2].last_seen_ms) << "never seen";
  for (const auto& u : users) EXPECT_EQ(u.status, PresenceStatus::offline) << u.user_id;
}

TEST(LastSeenShutdownTest, AllOfflineRecordsTheUsersStillConnected) {
  WriterStats stats;
  LastSeenWriter writer(std::make_unique<NoDatabase>(), {}, stats);
  std::int64_t now = 10;
  LastSeen l(&writer, [&] { return now; });
  l.user_changed({"alice", PresenceStatus::online, 2});
  l.user_changed({"bob", PresenceStatus::dnd, 1});
  l.user_changed({"carol", PresenceStatus::online, 1});
  l.user_changed({"carol", PresenceStatus::offline, 0});  // closed properly
  now = 50;
  // The embedded presence's users still connected at shutdown.
  EXPECT_EQ(l.all_offline({"alice", "bob"}), 2u);

  std::vector<PresenceRow> rows;
  writer.lookup({"alice", "bob", "carol"}, [&](std::vector<PresenceRow> r) { rows = r; });
  std::sort(rows.begin(), rows.end(),
            [](const auto& a, const auto& b) { return a.user_id < b.user_id; });
  EXPECT_EQ(rows, (std::vector<PresenceRow>{{"alice", PresenceStatus::offline, 50, 0},
                                            {"bob", PresenceStatus::offline, 50, 0},
                                            {"carol", PresenceStatus::offline, 10, 0}}));
}

}  // namespace
}  // namespace realtime::storage
