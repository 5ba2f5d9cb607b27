#include "storage/pending_rows.hpp"

#include <gtest/gtest.h>

namespace realtime::storage {
namespace {

PresenceRow row(std::string user, PresenceStatus status, std::int64_t ms, int connections = 0) {
  return {std::move(user), status, ms, connections};
}

std::vector<std::string> users_of(const std::vector<PresenceRow>& rows) {
  std::vector<std::string> out;
  for (const auto& r : rows) out.push_back(r.user_id);
  return out;
}

TEST(PendingRowsTest, LatestRowOfAUserWins) {
  PendingRows p(10);
  p.put(row("alice", PresenceStatus::online, 1, 1));
  p.put(row("alice", PresenceStatus::offline, 2, 0));
  ASSERT_EQ(p.size(), 1u);
  const auto rows = p.take(10);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0], row("alice", PresenceStatus::offline, 2, 0));
  EXPECT_TRUE(p.empty());
}

TEST(PendingRowsTest, TakesLeastRecentlyChangedFirstAndAtMostMax) {
  PendingRows p(10);
  p.put(row("a", PresenceStatus::online, 1));
  p.put(row("b", PresenceStatus::online, 2));
  p.put(row("c", PresenceStatus::online, 3));
  p.put(row("a", PresenceStatus::offline, 4));  // a changed last now
  EXPECT_EQ(users_of(p.take(2)), (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(users_of(p.take(2)), (std::vector<std::string>{"a"}));
  EXPECT_TRUE(p.take(2).empty());
}

TEST(PendingRowsTest, EraseForgetsTheUserAndNothingElse) {
  PendingRows p(10);
  p.put(row("a", PresenceStatus::offline, 1));
  p.put(row("b", PresenceStatus::offline, 2));
  p.erase("a");
  p.erase("nobody");
  EXPECT_FALSE(p.find("a"));
  EXPECT_EQ(users_of(p.take(10)), (std::vector<std::string>{"b"}));
}

TEST(PendingRowsTest, FullBufferDropsTheOldestUser) {
  PendingRows p(2);
  EXPECT_EQ(p.put(row("a", PresenceStatus::online, 1)), 0u);
  EXPECT_EQ(p.put(row("b", PresenceStatus::online, 2)), 0u);
  EXPECT_EQ(p.put(row("b", PresenceStatus::offline, 3)), 0u);  // same user: no growth
  EXPECT_EQ(p.put(row("c", PresenceStatus::online, 4)), 1u);
  EXPECT_FALSE(p.find("a"));
  EXPECT_EQ(users_of(p.take(10)), (std::vector<std::string>{"b", "c"}));
}

TEST(PendingRowsTest, RestoredRowsGoFirstButNeverOverANewerRow) {
  PendingRows p(10);
  p.put(row("a", PresenceStatus::online, 1));
  p.put(row("b", PresenceStatus::online, 2));
  auto batch = p.take(10);
  p.put(row("b", PresenceStatus::offline, 5));  // newer than the failed batch's b
  p.put(row("c", PresenceStatus::online, 6));
  EXPECT_EQ(p.restore(std::move(batch)), 0u);
  const auto rows = p.take(10);
  EXPECT_EQ(users_of(rows), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(rows[1], row("b", PresenceStatus::offline, 5));
}

TEST(PendingRowsTest, RestoreBeyondTheBoundDropsTheOldest) {
  PendingRows p(2);
  p.put(row("a", PresenceStatus::online, 1));
  p.put(row("b", PresenceStatus::online, 2));
  auto batch = p.take(10);
  p.put(row("c", PresenceStatus::online, 3));
  EXPECT_EQ(p.restore(std::move(batch)), 1u);
  EXPECT_EQ(users_of(p.take(10)), (std::vector<std::string>{"b", "c"}));
}

TEST(PendingRowsTest, FindSeesTheLatestRow) {
  PendingRows p(10);
  p.put(row("a", PresenceStatus::online, 1, 2));
  p.put(row("a", PresenceStatus::away, 7, 1));
  ASSERT_TRUE(p.find("a"));
  EXPECT_EQ(*p.find("a"), row("a", PresenceStatus::away, 7, 1));
  EXPECT_FALSE(p.find("nobody"));
}

}  // namespace
}  // namespace realtime::storage
