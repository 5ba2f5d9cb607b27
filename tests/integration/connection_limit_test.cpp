// REALTIME_MAX_CONNECTIONS (default 10,000): the 10,001st upgrade gets HTTP 503, the server
// keeps serving, and once clients leave their descriptors are released.
#include <gtest/gtest.h>

#include <boost/json/value.hpp>

#include <sys/resource.h>

#include <algorithm>
#include <string>

#include "support/client_pool.hpp"
#include "support/server_process.hpp"
#include "support/test_helpers.hpp"

namespace realtime::testing {
namespace {

constexpr std::size_t kDefaultMaxConnections = 10000;
// Leeway for descriptors the server opens on its own (a lingering HTTP socket, a timer).
constexpr std::size_t kFdSlack = 8;

// Both this process (10,001 client sockets) and the server (10,000 plus its own) need more
// descriptors than the usual soft limit of 1024; the server inherits ours. Returns the limit.
rlim_t RaiseFdLimit(rlim_t wanted) {
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  if (limit.rlim_cur < wanted) {
    limit.rlim_cur = std::min(wanted, limit.rlim_max);
    setrlimit(RLIMIT_NOFILE, &limit);
    getrlimit(RLIMIT_NOFILE, &limit);
  }
  return limit.rlim_cur;
}

TEST(ConnectionLimitTest, ConnectionAboveTheDefaultLimitGets503AndServerRecovers) {
  constexpr rlim_t kFdsNeeded = kDefaultMaxConnections + 256;
  ASSERT_GE(RaiseFdLimit(kFdsNeeded), kFdsNeeded)
      << "this test needs " << kFdsNeeded << " file descriptors per process (ulimit -n)";
  // The clients only listen; opening 10,000 of them on a loaded machine must not run into
  // the heartbeat timeout, which is not what this test is about.
  ServerProcess server(ServerProcess::DevArgs({"--heartbeat-seconds", "3600"}));
  const std::uint16_t port = server.port();
  const std::size_t baseline_fds = server.OpenFdCount();

  ClientPool pool(port, [](std::size_t, std::string_view) {});
  const std::size_t opened = pool.Open(
      kDefaultMaxConnections,
      [](std::size_t i) { return ConnectTarget("user" + std::to_string(i)); }, 200,
      std::chrono::minutes(4));
  ASSERT_EQ(opened, kDefaultMaxConnections) << ::testing::PrintToString(pool.failures());

  // One more is refused before the upgrade, with a JSON reason.
  WsConnectOptions options;
  options.target = ConnectTarget("one-too-many");
  auto result = WsClient::TryConnect(port, options);
  ASSERT_TRUE(std::holds_alternative<HttpResponse>(result)) << "connection 10,001 was accepted";
  const HttpResponse& refused = std::get<HttpResponse>(result);
  EXPECT_EQ(refused.status, 503);
  EXPECT_EQ(StringField(refused.Json().as_object(), "error"), "unavailable") << refused.body;

  // The full server still answers HTTP.
  const HttpResponse health = HttpGet(port, "/health");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.Json().as_object().at("connections"),
            boost::json::value(kDefaultMaxConnections));
  EXPECT_GE(ScrapeMetric(port, "realtime_upgrades_rejected_total"), 1.0);

  // When one client leaves, a new one gets in.
  pool.CloseOne(0);
  ASSERT_TRUE(
      WaitUntil([&] { return ScrapeMetric(port, "realtime_connections") < kDefaultMaxConnections; },
                std::chrono::seconds(60)));
  ASSERT_NO_FATAL_FAILURE(ExpectFreshClientWorks(port));

  // When all leave, their descriptors are gone too: no leak from serving or refusing.
  ASSERT_TRUE(pool.CloseAll(std::chrono::minutes(2)));
  EXPECT_EQ(pool.unexpected_ends(), 0u) << ::testing::PrintToString(pool.failures());
  ASSERT_TRUE(WaitUntil([&] { return ScrapeMetric(port, "realtime_connections") == 0; },
                        std::chrono::seconds(60)));
  EXPECT_TRUE(WaitUntil([&] { return server.OpenFdCount() <= baseline_fds + kFdSlack; },
                        std::chrono::seconds(30)))
      << server.OpenFdCount() << " descriptors open, " << baseline_fds << " at start";
}

}  // namespace
}  // namespace realtime::testing
