// Presence frames of a connect storm: N clients of one topic connect at once, with presence
// coalescing off (REALTIME_PRESENCE_WINDOW_MS=0, every join one event to every member: N²/2
// frames) and at the default window. Prints the figures docs/performance.md quotes ("Presence
// diffs"); asserts only what does not depend on the machine's speed: every member learns of
// every other, and coalescing never sends more than one event per change.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include <atomic>
#include <cstdio>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include "support/client_pool.hpp"
#include "support/redis_process.hpp"
#include "support/server_process.hpp"
#include "support/test_helpers.hpp"

namespace realtime::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

struct StormFigures {
  std::uint64_t observer_joins = 0;   // presence frames the first client got for the N joins
  std::uint64_t total_joins = 0;      // over all N + 1 clients
  std::uint64_t observer_leaves = 0;  // frames the first client got when the N left at once
  double cpu_ms = 0;  // server CPU from the first connect until every join reached every client
};

bool IsPresenceText(std::string_view text) {
  return text.find(R"("event":"realtime.presence.changed")") != std::string_view::npos ||
         text.find(R"("event":"realtime.presence.diff")") != std::string_view::npos;
}

// Who a presence frame reports online and offline.
void Collect(std::string_view text, std::set<std::string>& online, std::set<std::string>& offline) {
  const json::object frame = json::parse(text).as_object();
  const json::object& data = frame.at("data").as_object();
  if (StringField(frame, "event") == "realtime.presence.changed") {
    (StringField(data, "new_status") == "offline" ? offline : online)
        .insert(StringField(data, "user_id"));
    return;
  }
  for (const auto& j : data.at("joins").as_array())
    online.insert(StringField(j.as_object(), "user_id"));
  for (const auto& l : data.at("leaves").as_array())
    offline.insert(StringField(l.as_object(), "user_id"));
}

std::uint64_t Sum(const std::unique_ptr<std::atomic<std::uint64_t>[]>& counts, std::size_t n) {
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < n; ++i) total += counts[i].load();
  return total;
}

// Waits until the counts stop moving: the last windows, and the slowest members' reads.
std::uint64_t Settled(const std::unique_ptr<std::atomic<std::uint64_t>[]>& counts, std::size_t n) {
  std::uint64_t last = ~0ULL;
  for (;;) {
    std::this_thread::sleep_for(1s);
    const std::uint64_t total = Sum(counts, n);
    if (total == last) return total;
    last = total;
  }
}

// `redis_url` empty: the embedded engine.
StormFigures Storm(std::string_view window_ms, std::size_t n, const std::string& redis_url) {
  std::vector<std::string> args{"--presence-window-ms", std::string(window_ms)};
  if (!redis_url.empty()) {
    // Every run shares one redis-server: a prefix of its own keeps an earlier node's presence
    // (until it is reaped) from making this run's users look present already.
    args.insert(args.end(), {"--redis-url", redis_url, "--redis-prefix",
                             "storm-" + std::string(window_ms) + "-" + std::to_string(n) + ":",
                             "--token-secret", "presence-storm-tests-token-secret-0123456"});
  }
  ServerProcess server{ServerProcess::DevArgs(std::move(args))};
  EXPECT_TRUE(WaitUntil([&] { return HttpGet(server.port(), "/health").status == 200; }, 30s));
  const std::string topic = "channel:storm";
  auto counts = std::make_unique<std::atomic<std::uint64_t>[]>(n + 1);
  std::mutex mutex;
  std::set<std::string> online, offline;  // as the observer learned them
  std::atomic<bool> counting{false};
  ClientPool pool(server.port(), [&](std::size_t i, std::string_view text) {
    if (!IsPresenceText(text)) return;
    if (i == 0) {
      std::lock_guard lock(mutex);
      Collect(text, online, offline);
    }
    if (counting) counts[i].fetch_add(1, std::memory_order_relaxed);
  });
  const auto target = [&](std::size_t i) {
    return ConnectTarget(i == 0 ? "observer" : "u" + std::to_string(i), {topic});
  };
  const auto observer_knows = [&](const std::set<std::string>& set, std::size_t size) {
    return WaitUntil(
        [&] {
          std::lock_guard lock(mutex);
          return set.size() == size;
        },
        120s, 5ms);
  };
  EXPECT_EQ(pool.Open(1, target, 1, 30s), 1u);
  EXPECT_TRUE(observer_knows(online, 1));
  // Past the window the observer's own join opened: the storm starts on a closed window.
  std::this_thread::sleep_for(500ms);
  counting = true;
  const auto cpu_before = server.CpuTime();
  EXPECT_EQ(pool.Open(n, target, n, 120s), n);
  EXPECT_TRUE(observer_knows(online, n + 1)) << online.size();
  StormFigures figures;
  figures.total_joins = Settled(counts, n + 1);
  // (Settled() idles a second at the end: a few ticks of the server's idle loops.)
  figures.cpu_ms = std::chrono::duration<double, std::milli>(server.CpuTime() - cpu_before).count();
  figures.observer_joins = counts[0].exchange(0);
  for (std::size_t i = 1; i <= n; ++i) pool.CloseOne(i);
  EXPECT_TRUE(observer_knows(offline, n)) << offline.size();
  Settled(counts, 1);
  figures.observer_leaves = counts[0].load();
  pool.CloseAll(60s);
  return figures;
}

TEST(PresenceStormTest, FramesPerConnectStormWithAndWithoutCoalescing) {
  RedisProcess redis;
  std::printf(
      "| engine | N | observer, N joins: window 0 | default | all N + 1 clients, N joins: "
      "window 0 | default | observer, N leaves: window 0 | default | server CPU for the joins, "
      "window 0 | default |\n");
  for (const std::string& redis_url : {std::string(), redis.Url()}) {
    // Under ASan the server is a -O0 sanitized build: 1,000 members without coalescing are
    // half a million frames there, minutes of CI for the same property.
#ifdef __SANITIZE_ADDRESS__
    for (std::size_t n : {10, 100}) {
#else
    for (std::size_t n : {10, 100, 1000}) {
#endif
      const StormFigures before = Storm("0", n, redis_url);
      const StormFigures after = Storm("150", n, redis_url);
      std::printf("| %s | %zu | %llu | %llu | %llu | %llu | %llu | %llu | %.0f ms | %.0f ms |\n",
                  redis_url.empty() ? "memory" : "redis", n,
                  static_cast<unsigned long long>(before.observer_joins),
                  static_cast<unsigned long long>(after.observer_joins),
                  static_cast<unsigned long long>(before.total_joins),
                  static_cast<unsigned long long>(after.total_joins),
                  static_cast<unsigned long long>(before.observer_leaves),
                  static_cast<unsigned long long>(after.observer_leaves), before.cpu_ms,
                  after.cpu_ms);
      std::fflush(stdout);
      // Without coalescing, every change is one frame to the observer.
      EXPECT_EQ(before.observer_joins, n);
      EXPECT_EQ(before.observer_leaves, n);
      // With it, never more (a lone change is still one event).
      EXPECT_LE(after.observer_joins, n);
      EXPECT_LE(after.observer_leaves, n);
      EXPECT_LE(after.total_joins, before.total_joins);
    }
  }
}

}  // namespace
}  // namespace realtime::testing
