// Hostile WebSocket clients: clients that never answer the server's close (each socket is
// dropped at the 5 s closing deadline), and a publisher faster than its subscribers read, for a
// while: the server's memory stays under a stated bound (the per-connection queue bound times
// the connections, plus a baseline), the server closes the slow readers (4008) as their queues
// fill, and the readers that keep up get every event in order.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <iostream>
#include <thread>
#include <vector>

#include "support/raw_socket.hpp"
#include "support/server_process.hpp"
#include "support/test_helpers.hpp"

namespace realtime::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
constexpr std::uint64_t kMiB = 1024 * 1024;

ServerProcess::Env SmallQuarantine() {
  const char* existing = std::getenv("ASAN_OPTIONS");
  std::string options = existing != nullptr ? std::string(existing) + ":" : std::string();
  return {{"ASAN_OPTIONS", options + "quarantine_size_mb=16"}};
}

// The close code of the first close frame in a server's byte stream (after the 101), if any.
std::optional<std::uint16_t> CloseCodeIn(std::string_view bytes) {
  const auto head = bytes.find("\r\n\r\n");
  if (head == std::string_view::npos) return std::nullopt;
  std::size_t at = head + 4;
  while (at + 2 <= bytes.size()) {
    const auto op = static_cast<unsigned char>(bytes[at]) & 0x0F;
    std::size_t len = static_cast<unsigned char>(bytes[at + 1]) & 0x7F, header = 2;
    if (len == 126) {
      if (at + 4 > bytes.size()) return std::nullopt;
      len = (static_cast<unsigned char>(bytes[at + 2]) << 8) |
            static_cast<unsigned char>(bytes[at + 3]);
      header = 4;
    } else if (len == 127) {
      return std::nullopt;  // not sent by these tests' topics
    }
    if (at + header + len > bytes.size()) return std::nullopt;
    if (op == 0x8 && len >= 2) {
      return static_cast<std::uint16_t>((static_cast<unsigned char>(bytes[at + header]) << 8) |
                                        static_cast<unsigned char>(bytes[at + header + 1]));
    }
    at += header + len;
  }
  return std::nullopt;
}

// Clients that read the server's close frame and never answer it (nor close their side): the
// server drops each socket at its closing deadline, and gives back every descriptor.
TEST(HostileWsTest, ClientsThatNeverAnswerTheCloseAreDroppedAtTheDeadline) {
  constexpr int kDeaf = 100;
  ServerProcess server(ServerProcess::DevArgs({"--heartbeat-seconds", "3600"}));
  const std::uint16_t port = server.port();
  const std::size_t fds_before = server.OpenFdCount();
  std::vector<std::unique_ptr<RawSocket>> deaf;
  std::vector<std::string> streams;  // what each has received so far
  for (int i = 0; i < kDeaf; ++i) {
    deaf.push_back(std::make_unique<RawSocket>(port));
    deaf.back()->Send(UpgradeRequest("/realtime/connect?user=deaf&topics=room"));
    const auto welcome = deaf.back()->ReadUntil(
        [](std::string_view b) { return b.find("\"welcome\"") != std::string_view::npos; }, 20s);
    ASSERT_NE(welcome.bytes.find(" 101 "), std::string::npos) << welcome.bytes;
    streams.push_back(welcome.bytes);
  }
  ASSERT_EQ(ScrapeMetric(port, "realtime_connections"), kDeaf);

  // The server API ends every connection of the user with 4003.
  const HttpResponse r = HttpPostJson(port, "/realtime/disconnect", R"({"user_id":"deaf"})");
  ASSERT_TRUE(r.status == 200 || r.status == 202) << r.status << " " << r.body;
  for (int i = 0; i < kDeaf; ++i) {
    const auto got = deaf[i]->ReadUntil(
        [&](std::string_view b) { return CloseCodeIn(streams[i] + std::string(b)).has_value(); },
        20s);
    ASSERT_EQ(CloseCodeIn(streams[i] + got.bytes), 4003) << "client " << i;
  }
  const auto closed_at = Clock::now();

  // Silence from the clients; the server closes the sockets itself.
  std::vector<double> after_ms;
  for (int i = 0; i < kDeaf; ++i) {
    const auto end = deaf[i]->ReadUntilClosed(30s);
    ASSERT_TRUE(end.closed) << "client " << i << " still open 30 s after the close frame";
    after_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - closed_at).count());
  }
  EXPECT_TRUE(WaitUntil([&] { return ScrapeMetric(port, "realtime_connections") == 0; }, 10s));
  EXPECT_TRUE(WaitUntil([&] { return server.OpenFdCount() <= fds_before; }, 10s))
      << server.OpenFdCount() << " descriptors, " << fds_before << " before";
  ASSERT_NO_FATAL_FAILURE(ExpectFreshClientWorks(port));
  std::sort(after_ms.begin(), after_ms.end());
  std::cerr << kDeaf << " clients that never answered the close were dropped "
            << after_ms.front() / 1000 << "-" << after_ms.back() / 1000
            << " s after the close frame\n";
}

// A publisher faster than most of its subscribers read, for kPublishFor. Memory bound: every
// connection's queue full (REALTIME_MAX_QUEUE_BYTES) plus a per-connection allowance, over the
// baseline measured with every client connected.
TEST(HostileWsTest, PublisherFasterThanSubscribersReadKeepsServerMemoryBounded) {
  constexpr std::uint64_t kQueueBytes = 256 * 1024;
  constexpr int kSlow = 40, kFast = 2;
  constexpr auto kPublishFor = 15s;
  constexpr std::uint64_t kPerConnection = 64 * 1024;  // session, buffers, allocator slack
  constexpr std::uint64_t kBaselineSlack = 32 * kMiB;  // publish path, frames in flight
  const std::string topic = "firehose";
  ServerProcess server(ServerProcess::DevArgs({"--max-queue-bytes", std::to_string(kQueueBytes),
                                               "--heartbeat-seconds", "3600", "--threads", "2"}),
                       SmallQuarantine());
  const std::uint16_t port = server.port();

  std::atomic<bool> stop{false};
  std::atomic<int> wrong_codes{0}, slow_ends{0};
  std::vector<std::thread> readers;
  // Slow readers: a tiny receive buffer, one message every 20 ms. The server closes them (4008;
  // they see it once they have read what the kernel still holds for them) and they come back.
  for (int i = 0; i < kSlow; ++i) {
    readers.emplace_back([&, i] {
      WsConnectOptions options;
      options.receive_buffer_bytes = 4096;
      const std::string user = "slow" + std::to_string(i);
      std::unique_ptr<WsClient> client;
      while (!stop) {
        try {
          if (!client) client = ConnectUser(port, user, {topic}, options);
          const ReadResult r = client->Read(30s);
          if (r.kind == ReadResult::Kind::kMessage) {
            std::this_thread::sleep_for(20ms);
            continue;
          }
          if (r.kind == ReadResult::Kind::kClosed && r.close_code != 4008) ++wrong_codes;
        } catch (const std::exception&) {
          // A connect or read that failed while the server dropped this reader: come back.
        }
        ++slow_ends;
        client.reset();
      }
    });
  }
  // Readers that keep up: every event, in order.
  std::vector<std::unique_ptr<WsClient>> fast;
  for (int i = 0; i < kFast; ++i)
    fast.push_back(ConnectUser(port, "fast" + std::to_string(i), {topic}));
  std::atomic<std::uint64_t> published{0};
  std::vector<std::string> fast_errors(kFast);
  std::vector<std::uint64_t> fast_read(kFast, 0);
  for (int i = 0; i < kFast; ++i) {
    readers.emplace_back([&, i] {
      try {
        for (;;) {
          const ReadResult r = fast[i]->Read(30s);
          if (r.kind != ReadResult::Kind::kMessage) {
            fast_errors[i] = "ended with " + std::to_string(r.close_code) + " " + r.error;
            return;
          }
          if (r.text.find(R"("event":"end")") != std::string::npos) return;
          const auto seq = ScanSeq(r.text);
          if (!seq) continue;  // presence
          if (*seq != fast_read[i]) {
            fast_errors[i] =
                "expected seq " + std::to_string(fast_read[i]) + ", got " + std::to_string(*seq);
            return;
          }
          ++fast_read[i];
        }
      } catch (const std::exception& e) {
        fast_errors[i] = e.what();
      }
    });
  }
  std::this_thread::sleep_for(2s);  // the slow readers connect
  const std::uint64_t rss_baseline = server.RssBytes();

  // The publisher: batches of 10 events of 2 KiB, as fast as the server takes them.
  HttpConnection http(port);
  const std::string pad(2048, 'x');
  std::uint64_t rss_max = rss_baseline;
  std::string publish_error;
  const auto until = Clock::now() + kPublishFor;
  for (int request = 0; Clock::now() < until && publish_error.empty(); ++request) {
    std::vector<std::string> messages;
    for (int k = 0; k < 10; ++k) {
      messages.push_back(
          EventJson(topic, "blob",
                    R"({"seq":)" + std::to_string(published + k) + R"(,"pad":")" + pad + "\"}"));
    }
    const HttpResponse res = http.PostJson("/realtime/publish", BatchJson(messages));
    if (res.status != 202) publish_error = std::to_string(res.status) + " " + res.body;
    published += 10;
    if (request % 20 == 0) rss_max = std::max(rss_max, server.RssBytes());
  }
  rss_max = std::max(rss_max, server.RssBytes());
  stop = true;
  const HttpResponse last = http.PostJson("/realtime/publish", EventJson(topic, "end", "0"));
  for (auto& t : readers) t.join();
  ASSERT_EQ(publish_error, "");
  ASSERT_EQ(last.status, 202);

  const std::uint64_t connections = kSlow + kFast;
  const std::uint64_t bound =
      rss_baseline + connections * (kQueueBytes + kPerConnection) + kBaselineSlack;
  for (int i = 0; i < kFast; ++i) {
    EXPECT_EQ(fast_errors[i], "") << "fast reader " << i;
    EXPECT_EQ(fast_read[i], published.load()) << "fast reader " << i;
  }
  EXPECT_GE(ScrapeMetric(port, "realtime_slow_consumer_closes_total"), 1.0);
  EXPECT_EQ(wrong_codes.load(), 0) << "slow readers closed with another code than 4008";
  EXPECT_TRUE(server.running());
#if defined(__SANITIZE_ADDRESS__)
  std::cerr << "ASan build: RSS bound not asserted\n";
#else
  EXPECT_LT(rss_max, bound) << "RSS " << rss_max / kMiB << " MiB, bound " << bound / kMiB << " MiB";
#endif
  std::cerr << "fast publisher: " << published.load() << " events of 2 KiB in "
            << kPublishFor.count() << " s to " << connections << " subscribers; "
            << ScrapeMetric(port, "realtime_slow_consumer_closes_total")
            << " slow-consumer closes, " << slow_ends
            << " slow readers dropped and back; server RSS baseline " << rss_baseline / kMiB
            << " MiB, max " << rss_max / kMiB << " MiB, bound " << bound / kMiB << " MiB\n";
}

}  // namespace
}  // namespace realtime::testing
