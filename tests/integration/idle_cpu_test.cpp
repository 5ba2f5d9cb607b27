// An idle server costs (almost) nothing, whatever its timer-driven settings: with every one at
// its minimum, the server's CPU time over several seconds stays under a few percent of one
// core, with no clients and with 1,000 connected clients that only keep their connection alive.
// This catches the whole class of timers that fire in a loop (an interval that truncates to 0,
// a re-armed timer that is already due), which the heartbeat's `seconds(1) / 4` once was.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "support/client_pool.hpp"
#include "support/redis_process.hpp"
#include "support/server_process.hpp"
#include "support/test_helpers.hpp"

namespace realtime::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr auto kWindow = seconds(4);
// A spinning timer costs a whole core (each shard's). Idle, a sweep and a liveness script cost
// well under 5 %. With 1,000 clients sending 1,250 keep-alive frames a second (and reading the
// pongs) the server does real work: 3-5 % of a core in a release build on a quiet machine, 6-7 %
// on a loaded CI machine, several times that under AddressSanitizer; still far from a spin.
constexpr double kMaxCoreShare = 0.05;
#if defined(__SANITIZE_ADDRESS__)
constexpr double kMaxCoreShareWithClients = 0.30;
#else
constexpr double kMaxCoreShareWithClients = 0.12;
#endif

// Every timer-driven setting at the smallest value the configuration accepts.
std::vector<std::string> MinimumTimerArgs() {
  return ServerProcess::DevArgs(
      {"--heartbeat-seconds", "1", "--typing-timeout-seconds", "1", "--threads", "2"});
}

double CoreShareOver(const ServerProcess& server, std::chrono::milliseconds window,
                     const std::function<void()>& during = {}) {
  const auto cpu_before = server.CpuTime();
  const auto start = std::chrono::steady_clock::now();
  if (during) {
    during();
  } else {
    std::this_thread::sleep_for(window);
  }
  const auto elapsed = std::chrono::steady_clock::now() - start;
  const auto cpu = server.CpuTime() - cpu_before;
  return std::chrono::duration<double>(cpu).count() /
         std::chrono::duration<double>(elapsed).count();
}

void ExpectIdle(const ServerProcess& server, std::string_view what) {
  // Let start-up settle (migrations, the first liveness round) before measuring.
  std::this_thread::sleep_for(milliseconds(500));
  const double share = CoreShareOver(server, kWindow);
  ::testing::Test::RecordProperty("core_share_percent", std::to_string(share * 100));
  EXPECT_LT(share, kMaxCoreShare) << what << ": an idle server used " << share * 100
                                  << "% of a core over " << kWindow.count() << " s";
}

// Keeps 1,000 connections alive at heartbeat 1 s (a frame each second: closed after 2 s of
// silence) and measures the server meanwhile.
void ExpectIdleWithClients(const ServerProcess& server, std::string_view what) {
  constexpr std::size_t kClients = 1000;
  ClientPool pool(server.port(), [](std::size_t, std::string_view) {});
  ASSERT_EQ(pool.Open(
                kClients,
                [](std::size_t i) {
                  return ConnectTarget("idle" + std::to_string(i),
                                       {"room:" + std::to_string(i % 50)});
                },
                100, std::chrono::minutes(2)),
            kClients)
      << ::testing::PrintToString(pool.failures());
  const std::string keepalive = R"({"type":"ping"})";
  pool.SendToAll(keepalive);
  std::this_thread::sleep_for(milliseconds(500));
  const double share = CoreShareOver(server, kWindow, [&] {
    const auto end = std::chrono::steady_clock::now() + kWindow;
    while (std::chrono::steady_clock::now() < end) {
      pool.SendToAll(keepalive);
      // Heartbeat 1 s closes a client silent for 2 s; a frame every 0.8 s keeps a margin.
      std::this_thread::sleep_for(milliseconds(800));
    }
  });
  ::testing::Test::RecordProperty("core_share_percent_1000_clients", std::to_string(share * 100));
  EXPECT_EQ(pool.unexpected_ends(), 0u) << "keep-alive clients were closed";
  EXPECT_LT(share, kMaxCoreShareWithClients)
      << what << " with " << kClients << " keep-alive clients: the server used " << share * 100
      << "% of a core over " << kWindow.count() << " s";
  EXPECT_TRUE(pool.CloseAll(seconds(30)));
}

TEST(IdleCpuTest, EmbeddedEngineAtMinimumTimersIsIdle) {
  ServerProcess server(MinimumTimerArgs());
  ExpectIdle(server, "embedded engine");
  ExpectIdleWithClients(server, "embedded engine");
}

TEST(IdleCpuTest, RedisEngineAtMinimumTimersIsIdle) {
  RedisProcess redis;
  ServerProcess server(MinimumTimerArgs(), {{"REALTIME_REDIS_URL", redis.Url()}});
  ASSERT_TRUE(
      WaitUntil([&] { return HttpGet(server.port(), "/health").status == 200; }, seconds(10)));
  ExpectIdle(server, "redis engine");
  ExpectIdleWithClients(server, "redis engine");
}

}  // namespace
}  // namespace realtime::testing
