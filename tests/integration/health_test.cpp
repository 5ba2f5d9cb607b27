// GET /health as nself's installer, compose health checks and load balancers read it: the
// migrations, and each dependency's state and latency from an active probe, so a database that
// stops shows as down within seconds even when nothing is written.
#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>

#include <iostream>

#include "support/postgres_server.hpp"
#include "support/redis_process.hpp"
#include "support/server_process.hpp"
#include "support/test_helpers.hpp"

namespace realtime::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

json::object Health(std::uint16_t port) { return HttpGet(port, "/health").Json().as_object(); }

// dependencies.<name>, or an empty object.
json::object Dependency(const json::object& health, std::string_view name) {
  const auto* deps = health.if_contains("dependencies");
  if (deps == nullptr || !deps->is_object()) return {};
  const auto* dep = deps->as_object().if_contains(name);
  return dep != nullptr && dep->is_object() ? dep->as_object() : json::object{};
}

TEST(HealthTest, SqliteByDefaultShowsItsAppliedMigrationsAndWhatNselfWaitsFor) {
  ServerProcess server(ServerProcess::DevArgs());
  json::object health;
  // The first probe runs as the writer starts, then every 2 s.
  ASSERT_TRUE(WaitUntil(
      [&] {
        health = Health(server.port());
        return Dependency(health, "database")["latency_ms"].is_number();
      },
      30s, 100ms))
      << json::serialize(health);
  EXPECT_EQ(StringField(health, "service"), "realtime");
  EXPECT_EQ(StringField(health, "status"), "ok");
  EXPECT_TRUE(health.at("uptime").is_int64());
  EXPECT_EQ(health.at("migrations"), (json::object{{"applied", 1}, {"expected", 1}}));
  EXPECT_EQ(StringField(Dependency(health, "database"), "status"), "ok");
  EXPECT_GE(Dependency(health, "database")["latency_ms"].to_number<double>(), 0.0);
  EXPECT_FALSE(health.at("dependencies").as_object().contains("redis"));
}

TEST(HealthTest, WithoutADatabaseThereIsNothingToMigrate) {
  ServerProcess server(ServerProcess::DevArgs(), {{"DATABASE_URL", "none"}});
  const json::object health = Health(server.port());
  EXPECT_EQ(health.at("migrations"), (json::object{{"applied", 0}, {"expected", 0}}));
  EXPECT_EQ(health.at("dependencies"), json::object());
}

TEST(HealthTest, PostgresStoppedShowsDownWithinSecondsWithoutAnyWriteAndUpWhenBack) {
  if (PostgresServer::BinDir().empty()) {
    std::cerr << "\n*** SKIPPING: no PostgreSQL server binaries (scripts/install-deps) ***\n\n";
    GTEST_SKIP() << "PostgreSQL server binaries are not installed";
  }
  PostgresServer pg;
  ServerProcess server(ServerProcess::DevArgs(), {{"DATABASE_URL", pg.Url()}});
  json::object health;
  ASSERT_TRUE(WaitUntil(
      [&] {
        health = Health(server.port());
        return Dependency(health, "database")["latency_ms"].is_number();
      },
      30s, 100ms))
      << json::serialize(health);
  EXPECT_EQ(StringField(health, "database"), "ok");
  EXPECT_EQ(StringField(health, "database_kind"), "postgres");
  EXPECT_EQ(health.at("migrations"), (json::object{{"applied", 1}, {"expected", 1}}));

  // No client connects or leaves: only the probe can notice.
  pg.Stop();
  const auto stopped = Clock::now();
  HttpResponse response;
  ASSERT_TRUE(WaitUntil(
      [&] {
        response = HttpGet(server.port(), "/health");
        return StringField(response.Json().as_object(), "database") == "down";
      },
      30s, 50ms))
      << response.body;
  const auto noticed = Clock::now() - stopped;
  std::cerr << "database shown down "
            << std::chrono::duration_cast<std::chrono::milliseconds>(noticed).count()
            << " ms after pg_ctl stop returned\n";
  // The issue asks for "within a few seconds": a probe every 2 s, bounded by 2 s.
  EXPECT_LT(noticed, 6s);
  // Delivery works without the database: still 200, but not "ok".
  EXPECT_EQ(response.status, 200);
  health = response.Json().as_object();
  EXPECT_EQ(StringField(health, "status"), "degraded");
  EXPECT_EQ(Dependency(health, "database"),
            (json::object{{"status", "down"}, {"latency_ms", nullptr}}));
  ASSERT_NO_FATAL_FAILURE(ExpectFreshClientWorks(server.port()));

  // Back on the same port: the probe reconnects without waiting for a row to write.
  pg.Start();
  ASSERT_TRUE(WaitUntil(
      [&] {
        health = Health(server.port());
        return StringField(health, "status") == "ok" &&
               Dependency(health, "database")["latency_ms"].is_number();
      },
      30s, 50ms))
      << json::serialize(health);
  EXPECT_EQ(StringField(health, "database"), "ok");
}

TEST(HealthTest, RedisEngineShowsRedisWithItsProbeLatencyAndDownWhenItDies) {
  RedisProcess redis;
  ServerProcess server(ServerProcess::DevArgs({"--redis-url", redis.Url()}),
                       {{"DATABASE_URL", "none"}});
  json::object health;
  // The delivery probe (PUBLISH to the node's own channel, back on its subscription) runs every
  // second.
  ASSERT_TRUE(WaitUntil(
      [&] {
        health = Health(server.port());
        return Dependency(health, "redis")["latency_ms"].is_number();
      },
      30s, 50ms))
      << json::serialize(health);
  const json::object dep = Dependency(health, "redis");
  EXPECT_EQ(StringField(dep, "status"), "ok");
  const double latency = dep.at("latency_ms").to_number<double>();
  EXPECT_GT(latency, 0.0);
  EXPECT_LT(latency, 3000.0);  // the probe's timeout: a slower answer is a failed probe
  std::cerr << "redis probe latency " << latency << " ms\n";

  redis.Kill();
  HttpResponse response;
  ASSERT_TRUE(WaitUntil(
      [&] { return (response = HttpGet(server.port(), "/health")).status == 503; }, 30s, 50ms));
  EXPECT_EQ(Dependency(response.Json().as_object(), "redis"),
            (json::object{{"status", "down"}, {"latency_ms", nullptr}}));
}

}  // namespace
}  // namespace realtime::testing
