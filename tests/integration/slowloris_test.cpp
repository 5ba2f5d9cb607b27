// Slowloris: thousands of sockets that send a request header one byte every few seconds and
// never finish it. Each costs the server a socket and a small buffer until the request deadline
// (30 s for the whole request, however it drips) closes it; the server's memory stays
// bounded, and normal clients are served meanwhile. Their latency under attack is printed, not
// asserted.
#include <sys/resource.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <thread>
#include <vector>

#include "support/raw_socket.hpp"
#include "support/server_process.hpp"
#include "support/test_helpers.hpp"

namespace realtime::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kWantedSockets = 2000;
constexpr auto kDrip = 2s;
// What one half-sent request may cost the server at most: its session, a read buffer of a few
// KiB and Asio's operation. Measured at about 3 KiB in the release build.
constexpr std::uint64_t kBytesPerSocket = 16 * 1024;
constexpr std::uint64_t kSlack = 16 * 1024 * 1024;
constexpr std::uint64_t kMiB = 1024 * 1024;

// The descriptors this test and the server (which inherits the limit) need.
std::size_t RaiseFdLimit(std::size_t wanted) {
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = limit.rlim_max;
  setrlimit(RLIMIT_NOFILE, &limit);
  getrlimit(RLIMIT_NOFILE, &limit);
  return std::min<std::size_t>(wanted, limit.rlim_cur > 400 ? (limit.rlim_cur - 300) / 2 : 0);
}

ServerProcess::Env SmallQuarantine() {
  const char* existing = std::getenv("ASAN_OPTIONS");
  std::string options = existing != nullptr ? std::string(existing) + ":" : std::string();
  return {{"ASAN_OPTIONS", options + "quarantine_size_mb=16"}};
}

struct Latencies {
  std::mutex mutex;
  std::vector<double> ms;
  std::size_t failures = 0;
  std::string first_failure;

  void Add(Clock::duration d) {
    std::lock_guard lock(mutex);
    ms.push_back(std::chrono::duration<double, std::milli>(d).count());
  }
  void Fail(const std::string& why) {
    std::lock_guard lock(mutex);
    if (failures++ == 0) first_failure = why;
  }
  std::string Summary() {
    std::lock_guard lock(mutex);
    if (ms.empty()) return "none";
    std::sort(ms.begin(), ms.end());
    auto at = [&](double q) { return ms[static_cast<std::size_t>(q * (ms.size() - 1))]; };
    char out[160];
    std::snprintf(out, sizeof out, "n=%zu p50=%.1f ms p99=%.1f ms max=%.1f ms", ms.size(), at(0.5),
                  at(0.99), ms.back());
    return out;
  }
};

TEST(SlowlorisTest, DrippingHeadersAreTimedOutWithBoundedMemoryWhileOthersAreServed) {
  const std::size_t sockets = RaiseFdLimit(kWantedSockets);
  ASSERT_GE(sockets, 500u) << "RLIMIT_NOFILE is too low for this test";
  ServerProcess server(ServerProcess::DevArgs({"--threads", "2"}), SmallQuarantine());
  const std::uint16_t port = server.port();
  ASSERT_NO_FATAL_FAILURE(ExpectFreshClientWorks(port));
  const std::uint64_t rss_before = server.RssBytes();
  const std::size_t fds_before = server.OpenFdCount();

  // The attack: every socket starts a request and adds a header byte every kDrip.
  const auto started = Clock::now();
  std::vector<std::unique_ptr<RawSocket>> slow;
  for (std::size_t i = 0; i < sockets; ++i) {
    slow.push_back(std::make_unique<RawSocket>(port));
    slow.back()->Send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow-" + std::to_string(i) +
                      ": ");
  }
  std::atomic<bool> stop{false};
  std::thread drip([&] {
    while (!stop) {
      for (auto& s : slow) (void)s->TrySend("a");
      for (auto until = Clock::now() + kDrip; !stop && Clock::now() < until;) {
        std::this_thread::sleep_for(50ms);
      }
    }
  });

  // Normal clients meanwhile: a health check every 100 ms, and a WebSocket that connects,
  // subscribes and receives a published event every 500 ms.
  Latencies health, roundtrip;
  std::thread normal([&] {
    for (int i = 0; !stop; ++i) {
      auto t0 = Clock::now();
      try {
        const HttpResponse r = HttpGet(port, "/health");
        if (r.status != 200) throw std::runtime_error("status " + std::to_string(r.status));
        health.Add(Clock::now() - t0);
      } catch (const std::exception& e) {
        health.Fail(e.what());
      }
      if (i % 5 == 0) {
        t0 = Clock::now();
        try {
          const std::string topic = "served." + std::to_string(i);
          auto client = ConnectUser(port, "normal" + std::to_string(i), {topic});
          if (Publish(port, topic, "hello", "1").status != 202) throw std::runtime_error("publish");
          ExpectEvent(*client, topic, "hello");
          roundtrip.Add(Clock::now() - t0);
        } catch (const std::exception& e) {
          roundtrip.Fail(e.what());
        }
      }
      std::this_thread::sleep_for(100ms);
    }
  });

  // The server ends every dripping request at its deadline.
  std::uint64_t rss_max = rss_before;
  std::size_t fds_max = fds_before;
  std::size_t open = sockets;
  while (open > 0 && Clock::now() - started < 120s) {
    rss_max = std::max(rss_max, server.RssBytes());
    fds_max = std::max(fds_max, server.OpenFdCount());
    open = static_cast<std::size_t>(
        std::count_if(slow.begin(), slow.end(), [](auto& s) { return !s->PeerClosed(); }));
    std::this_thread::sleep_for(250ms);
  }
  const auto all_closed = Clock::now() - started;
  stop = true;
  drip.join();
  normal.join();

  EXPECT_EQ(open, 0u) << open << " dripping sockets were still open after 120 s";
  EXPECT_TRUE(server.running());
  EXPECT_EQ(health.failures, 0u) << health.first_failure;
  EXPECT_EQ(roundtrip.failures, 0u) << roundtrip.first_failure;
  const std::uint64_t growth = rss_max > rss_before ? rss_max - rss_before : 0;
#if defined(__SANITIZE_ADDRESS__)
  std::cerr << "ASan build: RSS bound not asserted\n";
#else
  EXPECT_LT(growth, sockets * kBytesPerSocket + kSlack)
      << "RSS grew " << growth / kMiB << " MiB for " << sockets << " dripping sockets";
#endif
  // Every descriptor the attack took is given back.
  EXPECT_TRUE(WaitUntil([&] { return server.OpenFdCount() <= fds_before + 2; }, 10s))
      << server.OpenFdCount() << " descriptors open, " << fds_before << " before";
  ASSERT_NO_FATAL_FAILURE(ExpectFreshClientWorks(port));

  std::cerr << "slowloris: " << sockets << " sockets, all closed by the server after "
            << std::chrono::duration_cast<std::chrono::seconds>(all_closed).count()
            << " s; server RSS +" << growth / 1024 << " KiB (" << growth / sockets
            << " B per socket), descriptors " << fds_before << " -> max " << fds_max << "\n"
            << "  under attack, GET /health: " << health.Summary() << "\n"
            << "  under attack, connect+subscribe+publish+receive: " << roundtrip.Summary() << "\n";
}

}  // namespace
}  // namespace realtime::testing
