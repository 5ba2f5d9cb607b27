// Fan-out: 1,000 subscribers of one topic each receive all of 10,000 HTTP-published events,
// exactly once and in order.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "support/client_pool.hpp"
#include "support/redis_process.hpp"
#include "support/server_process.hpp"
#include "support/test_helpers.hpp"

namespace realtime::testing {
namespace {

using std::chrono::seconds;

constexpr std::size_t kSubscribers = 1000;
constexpr std::uint64_t kEvents = 10000;
constexpr std::uint64_t kBatch = 500;
// Publishing runs at most this far ahead of the slowest subscriber, so no subscriber's queue
// can approach REALTIME_MAX_QUEUE_BYTES however the machine schedules the reader thread.
constexpr std::uint64_t kWindow = 2000;
// Progress must not stall this long; only a broken server (or a lost event) gets there.
constexpr seconds kStallTimeout{120};
constexpr const char* kTopic = "fanout";
constexpr std::string_view kEventMarker = R"("event":"fanout.tick")";

// What each subscriber has seen; written by the pool's thread, read by the test's.
class FanOutLedger {
 public:
  explicit FanOutLedger(std::size_t subscribers) : next_(subscribers) {}

  void OnMessage(std::size_t i, std::string_view text) {
    if (text.starts_with(R"({"type":"event")")) {
      if (text.find(kEventMarker) == std::string_view::npos) return;  // presence changes
      events_seen_.fetch_add(1, std::memory_order_relaxed);
      const std::uint64_t expected = next_[i].load(std::memory_order_relaxed);
      const auto seq = ScanSeq(text);
      if (!seq || *seq != expected) {
        Error("subscriber " + std::to_string(i) + " expected seq " + std::to_string(expected) +
              ", got " + (seq ? std::to_string(*seq) : "none: " + std::string(text)));
        // Resynchronise after a gap, so one lost event is one error; duplicates don't advance.
        if (seq && *seq > expected) Advance(i, *seq + 1);
        return;
      }
      Advance(i, expected + 1);
    } else if (text.find(R"("type":"subscribed")") != std::string_view::npos) {
      ++subscribed_;
    } else if (text.find(R"("type":"pong")") != std::string_view::npos) {
      // The ping was sent after the last event arrived: nothing may come between.
      const auto got = next_[i].load(std::memory_order_relaxed);
      if (got != kEvents) {
        Error("subscriber " + std::to_string(i) + " got its pong at seq " + std::to_string(got));
      }
      ++ponged_;
    }
  }

  std::uint64_t SlowestNext() const {
    std::uint64_t slowest = kEvents;
    for (const auto& n : next_) slowest = std::min(slowest, n.load(std::memory_order_relaxed));
    return slowest;
  }
  std::uint64_t TotalReceived() const {
    std::uint64_t total = 0;
    for (const auto& n : next_) total += n.load(std::memory_order_relaxed);
    return total;
  }
  // "N subscribers at seq S, ..." for failure messages.
  std::string Progress() const {
    std::map<std::uint64_t, std::size_t> at;
    for (const auto& n : next_) ++at[n.load(std::memory_order_relaxed)];
    std::string out;
    for (const auto& [seq, count] : at) {
      if (!out.empty()) out += ", ";
      out += std::to_string(count) + " at " + std::to_string(seq);
    }
    return out;
  }
  // Every event frame any subscriber got: cheap to poll, for telling progress from a stall.
  std::uint64_t events_seen() const { return events_seen_.load(std::memory_order_relaxed); }
  std::size_t subscribed() const { return subscribed_.load(); }
  std::size_t complete() const { return complete_.load(); }
  std::size_t ponged() const { return ponged_.load(); }
  std::size_t errors() const { return errors_.load(); }
  std::string first_error() const {
    std::lock_guard lock(mutex_);
    return first_error_;
  }

 private:
  void Advance(std::size_t i, std::uint64_t next) {
    next_[i].store(next, std::memory_order_relaxed);
    if (next == kEvents) ++complete_;
  }
  void Error(std::string message) {
    if (errors_++ == 0) {
      std::lock_guard lock(mutex_);
      first_error_ = std::move(message);
    }
  }

  std::vector<std::atomic<std::uint64_t>> next_;
  std::atomic<std::uint64_t> events_seen_{0};
  std::atomic<std::size_t> subscribed_{0};
  std::atomic<std::size_t> complete_{0};
  std::atomic<std::size_t> ponged_{0};
  std::atomic<std::size_t> errors_{0};
  mutable std::mutex mutex_;
  std::string first_error_;
};

// Waits until `done`, failing only if `progress` stops moving for kStallTimeout.
bool WaitWithProgress(const std::function<bool()>& done,
                      const std::function<std::uint64_t()>& progress) {
  auto last = progress();
  auto last_change = std::chrono::steady_clock::now();
  while (!done()) {
    // Not too often: the test thread must leave the CPU to the server and the clients.
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    const auto now_progress = progress();
    const auto now = std::chrono::steady_clock::now();
    if (now_progress != last) {
      last = now_progress;
      last_change = now;
    } else if (now - last_change > kStallTimeout) {
      return false;
    }
  }
  return true;
}

std::string BatchOfSeqs(std::uint64_t first, std::uint64_t count) {
  std::vector<std::string> messages;
  messages.reserve(count);
  for (std::uint64_t seq = first; seq < first + count; ++seq) {
    messages.push_back(EventJson(kTopic, "fanout.tick", R"({"seq":)" + std::to_string(seq) + "}"));
  }
  return BatchJson(messages);
}

TEST(FanOutTest, ThousandSubscribersEachReceiveTenThousandEventsOnceInOrder) {
  // The subscribers only listen; on a loaded machine the test can outlast two default
  // heartbeats, and heartbeats are not what this test is about.
  ServerProcess server(ServerProcess::DevArgs({"--heartbeat-seconds", "3600"}));
  FanOutLedger ledger(kSubscribers);
  ClientPool pool(server.port(),
                  [&](std::size_t i, std::string_view text) { ledger.OnMessage(i, text); });

  // One user for all: presence then changes once, not a thousand times for everyone.
  const std::size_t opened = pool.Open(
      kSubscribers, [](std::size_t) { return ConnectTarget("fan", {kTopic}); }, 100,
      std::chrono::seconds(180));
  ASSERT_EQ(opened, kSubscribers) << ::testing::PrintToString(pool.failures());
  ASSERT_TRUE(WaitWithProgress([&] { return ledger.subscribed() == kSubscribers; },
                               [&] { return ledger.subscribed(); }))
      << ledger.subscribed() << " of " << kSubscribers << " subscribed";

  HttpConnection publisher(server.port());
  for (std::uint64_t first = 0; first < kEvents; first += kBatch) {
    ASSERT_TRUE(WaitWithProgress(
        [&] { return ledger.SlowestNext() + kWindow >= first + kBatch || ledger.errors() > 0; },
        [&] { return ledger.events_seen(); }))
        << "delivery stalled before seq " << first << ": " << ledger.Progress() << "; "
        << ::testing::PrintToString(pool.failures());
    ASSERT_EQ(ledger.errors(), 0u) << ledger.first_error();
    const HttpResponse res = publisher.PostJson("/realtime/publish", BatchOfSeqs(first, kBatch));
    ASSERT_EQ(res.status, 202) << res.body;
    ASSERT_EQ(res.body, R"({"published":)" + std::to_string(kBatch) + "}");
  }

  ASSERT_TRUE(
      WaitWithProgress([&] { return ledger.complete() == kSubscribers || ledger.errors() > 0; },
                       [&] { return ledger.events_seen(); }))
      << ledger.complete() << " of " << kSubscribers << " subscribers complete, slowest at "
      << ledger.SlowestNext() << ": " << ledger.Progress() << "; "
      << ::testing::PrintToString(pool.failures());
  ASSERT_EQ(ledger.errors(), 0u) << ledger.first_error();

  // Anything after the last event (a duplicate) would arrive before the pong.
  pool.SendToAll(R"({"type":"ping","id":"fanout-end"})");
  ASSERT_TRUE(WaitWithProgress([&] { return ledger.ponged() == kSubscribers; },
                               [&] { return ledger.ponged(); }));
  EXPECT_EQ(ledger.errors(), 0u) << ledger.first_error();
  EXPECT_EQ(ledger.TotalReceived(), kSubscribers * kEvents);
  EXPECT_EQ(pool.unexpected_ends(), 0u) << ::testing::PrintToString(pool.failures());
}

// The same through Redis: subscribers spread over two nodes, batches published alternately on
// each node (one after the other), every event delivered once and in order everywhere.
TEST(FanOutTest, HundredSubscribersOnTwoRedisNodesEachReceiveTenThousandEventsOnceInOrder) {
  constexpr std::size_t kPerNode = 50;
  constexpr std::uint64_t kRedisBatch = 100;
  RedisProcess redis;
  auto node_args = [&] {
    return ServerProcess::DevArgs({"--heartbeat-seconds", "3600", "--redis-url", redis.Url()});
  };
  ServerProcess a(node_args());
  ServerProcess b(node_args());
  for (const ServerProcess* node : {&a, &b}) {
    ASSERT_TRUE(WaitUntil([&] { return HttpGet(node->port(), "/health").status == 200; },
                          std::chrono::seconds(30)));
  }
  FanOutLedger ledger(2 * kPerNode);
  ClientPool pool_a(a.port(),
                    [&](std::size_t i, std::string_view text) { ledger.OnMessage(i, text); });
  ClientPool pool_b(b.port(), [&](std::size_t i, std::string_view text) {
    ledger.OnMessage(kPerNode + i, text);
  });
  for (ClientPool* pool : {&pool_a, &pool_b}) {
    ASSERT_EQ(pool->Open(
                  kPerNode, [](std::size_t) { return ConnectTarget("fan", {kTopic}); }, 50,
                  std::chrono::seconds(120)),
              kPerNode)
        << ::testing::PrintToString(pool->failures());
  }
  ASSERT_TRUE(WaitWithProgress([&] { return ledger.subscribed() == 2 * kPerNode; },
                               [&] { return ledger.subscribed(); }));

  HttpConnection to_a(a.port());
  HttpConnection to_b(b.port());
  for (std::uint64_t first = 0; first < kEvents; first += kRedisBatch) {
    ASSERT_TRUE(WaitWithProgress(
        [&] {
          return ledger.SlowestNext() + kWindow >= first + kRedisBatch || ledger.errors() > 0;
        },
        [&] { return ledger.events_seen(); }))
        << "delivery stalled before seq " << first << ": " << ledger.Progress();
    ASSERT_EQ(ledger.errors(), 0u) << ledger.first_error();
    // The 202 comes once Redis took the batch: the next batch, on the other node, is after it.
    HttpConnection& publisher = (first / kRedisBatch) % 2 == 0 ? to_a : to_b;
    const HttpResponse res =
        publisher.PostJson("/realtime/publish", BatchOfSeqs(first, kRedisBatch));
    ASSERT_EQ(res.status, 202) << res.body;
  }
  ASSERT_TRUE(
      WaitWithProgress([&] { return ledger.complete() == 2 * kPerNode || ledger.errors() > 0; },
                       [&] { return ledger.events_seen(); }))
      << ledger.Progress();
  ASSERT_EQ(ledger.errors(), 0u) << ledger.first_error();
  pool_a.SendToAll(R"({"type":"ping","id":"fanout-end"})");
  pool_b.SendToAll(R"({"type":"ping","id":"fanout-end"})");
  ASSERT_TRUE(WaitWithProgress([&] { return ledger.ponged() == 2 * kPerNode; },
                               [&] { return ledger.ponged(); }));
  EXPECT_EQ(ledger.errors(), 0u) << ledger.first_error();
  EXPECT_EQ(ledger.TotalReceived(), 2 * kPerNode * kEvents);
  EXPECT_EQ(pool_a.unexpected_ends() + pool_b.unexpected_ends(), 0u);
}

}  // namespace
}  // namespace realtime::testing
