// A node's SIGTERM during a publish storm, on the Redis engine: every publish either node
// answered 202 reaches every subscriber on the surviving node exactly once; the others failed
// visibly (503, or the connection refused or cut), and the terminated node exits 0.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <atomic>
#include <csignal>
#include <iostream>
#include <thread>

#include "support/client_pool.hpp"
#include "support/delivery_ledger.hpp"
#include "support/redis_process.hpp"
#include "support/server_process.hpp"
#include "support/test_helpers.hpp"

namespace realtime::testing {
namespace {

using namespace std::chrono_literals;

constexpr std::size_t kSubscribers = 20;
constexpr int kPublishersPerNode = 2;
constexpr const char* kTopic = "storm";

TEST(PublishStormShutdownTest, EveryAcceptedPublishReachesTheSurvivorsSubscribersExactlyOnce) {
  RedisProcess redis;
  auto args = [&] {
    return ServerProcess::DevArgs({"--redis-url", redis.Url(), "--heartbeat-seconds", "3600"});
  };
  ServerProcess doomed(args());
  ServerProcess survivor(args());
  for (const ServerProcess* node : {&doomed, &survivor}) {
    ASSERT_TRUE(WaitUntil([&] { return HttpGet(node->port(), "/health").status == 200; }, 30s));
  }
  DeliveryLedger ledger;
  std::atomic<std::size_t> subscribed{0};
  ClientPool pool(survivor.port(), [&](std::size_t i, std::string_view text) {
    if (text.find(R"("type":"subscribed")") != std::string_view::npos) ++subscribed;
    ledger.Received(i, text);
  });
  ASSERT_EQ(
      pool.Open(
          kSubscribers,
          [](std::size_t i) { return ConnectTarget("s" + std::to_string(i), {kTopic}); }, 10, 60s),
      kSubscribers);
  ASSERT_TRUE(WaitUntil([&] { return subscribed.load() == kSubscribers; }, 30s));
  // Subscribers on the doomed node too: they are closed with 1001 and are not counted.
  ClientPool doomed_pool(doomed.port(), [](std::size_t, std::string_view) {});
  ASSERT_EQ(doomed_pool.Open(
                5, [](std::size_t i) { return ConnectTarget("d" + std::to_string(i), {kTopic}); },
                5, 60s),
            5u);

  // The storm: publishers on both nodes, one request per connection (no client retries).
  std::atomic<bool> stop{false};
  std::atomic<bool> terminated{false};
  std::atomic<std::size_t> accepted_after_sigterm{0};
  std::vector<std::thread> publishers;
  for (ServerProcess* node : {&doomed, &survivor}) {
    for (int p = 0; p < kPublishersPerNode; ++p) {
      publishers.emplace_back([&, node, p] {
        const std::string prefix = (node == &doomed ? "d" : "s") + std::to_string(p) + "-";
        for (int n = 0; !stop; ++n) {
          const std::string pid = prefix + std::to_string(n);
          int status = 0;
          try {
            status = Publish(node->port(), kTopic, "tick", DeliveryLedger::Data(pid)).status;
          } catch (const std::exception&) {
            std::this_thread::sleep_for(5ms);  // refused: the node is gone
          }
          if (status == 202 && node == &doomed && terminated) ++accepted_after_sigterm;
          ledger.Answered(pid, status);
        }
      });
    }
  }
  std::this_thread::sleep_for(1500ms);
  terminated = true;
  doomed.Signal(SIGTERM);
  std::this_thread::sleep_for(1500ms);
  stop = true;
  for (auto& t : publishers) t.join();

  const auto status = doomed.WaitForExit(20s);
  ASSERT_TRUE(status.has_value()) << "the terminated node did not exit";
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << doomed.Log();

  // Every 202 reaches every subscriber of the survivor once.
  const std::vector<std::string> accepted = ledger.AnsweredWith(202);
  ASSERT_FALSE(accepted.empty());
  const bool all = WaitUntil(
      [&] {
        for (const auto& pid : accepted) {
          if (ledger.Receivers(pid) != kSubscribers) return false;
        }
        return true;
      },
      30s);
  std::size_t missing = 0;
  for (const auto& pid : accepted) {
    for (std::size_t s = 0; s < kSubscribers; ++s) missing += ledger.Count(s, pid) == 0 ? 1 : 0;
  }
  EXPECT_TRUE(all) << missing << " deliveries of accepted publishes missing";
  EXPECT_EQ(ledger.Duplicates(), 0u);
  EXPECT_EQ(pool.unexpected_ends(), 0u);

  std::map<int, std::size_t> answers;
  std::size_t failed_but_delivered = 0;
  for (const auto& [pid, s] : ledger.Answers()) {
    ++answers[s];
    if (s != 202 && ledger.Receivers(pid) > 0) ++failed_but_delivered;
  }
  std::cerr << "publish storm across SIGTERM:";
  for (const auto& [s, n] : answers)
    std::cerr << " " << (s == 0 ? "no answer" : std::to_string(s)) << " x" << n;
  std::cerr << "; 202 from the terminated node after its SIGTERM: " << accepted_after_sigterm
            << "; not 202 but delivered: " << failed_but_delivered << "\n";
}

}  // namespace
}  // namespace realtime::testing
