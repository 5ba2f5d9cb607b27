// Last-seen with the Redis engine: the rows follow the user's connections cluster-wide (two tabs
// on two nodes are one row with two connections), and a node killed with -9 has its users
// written offline by the node that reaps it.
#include <gtest/gtest.h>

#include <csignal>

#include "support/postgres_server.hpp"
#include "support/redis_process.hpp"
#include "support/server_process.hpp"
#include "support/stored_presence.hpp"
#include "support/test_helpers.hpp"

namespace realtime::testing {
namespace {

using namespace std::chrono_literals;

class RedisLastSeenTest : public ::testing::Test {
 protected:
  std::vector<std::string> Args(std::vector<std::string> extra = {}) const {
    std::vector<std::string> args{"--redis-url", redis_.Url()};
    args.insert(args.end(), extra.begin(), extra.end());
    return ServerProcess::DevArgs(std::move(args));
  }
  ServerProcess::Env Env() const { return {{"DATABASE_URL", pg_.Url()}}; }

  // Waits until alice's row is (status, connections).
  ::testing::AssertionResult AliceIs(const std::string& status, int connections) {
    std::map<std::string, StoredPresence> rows;
    const bool ok = WaitUntil(
        [&] {
          rows = PostgresPresence(pg_);
          auto it = rows.find("alice");
          return it != rows.end() && it->second.status == status &&
                 it->second.connections == connections;
        },
        30s, 50ms);
    if (ok) return ::testing::AssertionSuccess();
    auto it = rows.find("alice");
    return ::testing::AssertionFailure()
           << "alice is "
           << (it == rows.end() ? "absent"
                                : it->second.status + "/" + std::to_string(it->second.connections));
  }

  RedisProcess redis_;
  PostgresServer pg_;
};

TEST_F(RedisLastSeenTest, TwoTabsOnTwoNodesAreOneRowCountedClusterWide) {
  ServerProcess a(Args(), Env());
  ServerProcess b(Args(), Env());
  for (const ServerProcess* n : {&a, &b}) {
    ASSERT_TRUE(WaitUntil([&] { return HttpGet(n->port(), "/health").status == 200; }, 30s));
  }
  auto tab_a = ConnectUser(a.port(), "alice", {"channel:1"});
  auto tab_b = ConnectUser(b.port(), "alice", {"channel:1"});
  EXPECT_TRUE(AliceIs("online", 2));
  tab_a->Close();
  // Still online on B: the row says so, not offline.
  EXPECT_TRUE(AliceIs("online", 1));
  tab_b->Close();
  EXPECT_TRUE(AliceIs("offline", 0));
}

TEST_F(RedisLastSeenTest, UsersOfAKilledNodeAreWrittenOfflineByTheReaper) {
  ServerProcess doomed(Args({"--heartbeat-seconds", "2"}), Env());
  ServerProcess survivor(Args(), Env());
  for (const ServerProcess* n : {&doomed, &survivor}) {
    ASSERT_TRUE(WaitUntil([&] { return HttpGet(n->port(), "/health").status == 200; }, 30s));
  }
  auto alice = ConnectUser(doomed.port(), "alice", {"channel:1"});
  ASSERT_TRUE(AliceIs("online", 1));
  doomed.Signal(SIGKILL);
  EXPECT_TRUE(AliceIs("offline", 0));
}

}  // namespace
}  // namespace realtime::testing
