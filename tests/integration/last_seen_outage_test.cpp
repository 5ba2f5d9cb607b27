// Postgres goes away while users disconnect: the rows wait in the server (bounded, shown on
// /health and /metrics) and are all written, once each, when Postgres is back on the same port
// and data directory.
#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>

#include <iostream>

#include "support/client_pool.hpp"
#include "support/postgres_server.hpp"
#include "support/server_process.hpp"
#include "support/stored_presence.hpp"
#include "support/test_helpers.hpp"

namespace realtime::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

std::string DatabaseState(std::uint16_t port) {
  return StringField(HttpGet(port, "/health").Json().as_object(), "database");
}

TEST(LastSeenOutageTest, RowsOfDisconnectsDuringAnOutageAreAllWrittenOnceWhenPostgresReturns) {
  if (PostgresServer::BinDir().empty()) {
    std::cerr << "\n*** SKIPPING the Postgres outage test: no PostgreSQL server binaries under "
                 "/usr/lib/postgresql (scripts/install-deps installs them) ***\n\n";
    GTEST_SKIP() << "PostgreSQL server binaries are not installed";
  }
  constexpr std::size_t kUsers = 500;
  PostgresServer pg;
  ServerProcess server(ServerProcess::DevArgs({"--heartbeat-seconds", "3600"}),
                       {{"DATABASE_URL", pg.Url()}});
  const std::uint16_t port = server.port();

  ClientPool pool(port, [](std::size_t, std::string_view) {});
  ASSERT_EQ(
      pool.Open(
          kUsers, [](std::size_t i) { return ConnectTarget("user" + std::to_string(i), {"room"}); },
          100, 3min),
      kUsers)
      << ::testing::PrintToString(pool.failures());
  ASSERT_TRUE(WaitUntil([&] { return PostgresPresence(pg).size() == kUsers; }, 120s, 100ms));

  pg.Stop();
  ASSERT_TRUE(pool.CloseAll(3min));

  // The database shows as down, the node stays up (200, degraded), and every disconnect waits.
  ASSERT_TRUE(WaitUntil([&] { return DatabaseState(port) == "down"; }, 120s, 50ms));
  const HttpResponse health = HttpGet(port, "/health");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(StringField(health.Json().as_object(), "status"), "degraded");
  ASSERT_TRUE(WaitUntil(
      [&] { return ScrapeMetric(port, "realtime_presence_pending_rows") == kUsers; }, 120s, 50ms))
      << ScrapeMetric(port, "realtime_presence_pending_rows");
  EXPECT_GE(ScrapeMetric(port, "realtime_presence_write_failures_total"), 1);
  EXPECT_EQ(ScrapeMetric(port, "realtime_database_up"), 0);

  pg.Start();
  std::map<std::string, StoredPresence> rows;
  const bool written = WaitUntil(
      [&] {
        rows = PostgresPresence(pg);
        std::size_t offline = 0;
        for (const auto& [user, r] : rows) offline += r.status == "offline" && r.connections == 0;
        return offline == kUsers;
      },
      120s, 100ms);
  ASSERT_TRUE(written) << rows.size() << " rows";
  EXPECT_EQ(pg.Query("SELECT count(*), count(DISTINCT user_id) FROM np_realtime_presence"),
            (std::vector<std::vector<std::string>>{{"500", "500"}}));
  EXPECT_TRUE(WaitUntil([&] { return DatabaseState(port) == "ok"; }, 60s, 50ms));
  EXPECT_EQ(ScrapeMetric(port, "realtime_presence_pending_rows"), 0);
  EXPECT_EQ(ScrapeMetric(port, "realtime_presence_rows_dropped_total"), 0);
}

}  // namespace
}  // namespace realtime::testing
