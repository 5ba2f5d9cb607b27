// Slow consumers: a client that stops reading is closed with 4008 once its queue passes
// REALTIME_MAX_QUEUE_BYTES, other subscribers keep receiving everything, and the server's memory
// stays bounded however much is published.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "support/server_process.hpp"
#include "support/test_helpers.hpp"

namespace realtime::testing {
namespace {

constexpr std::size_t kMaxQueueBytes = 64 * 1024;
// Each request carries two ~20 kB events; a stopped reader fills the socket buffers, then the
// 64 KiB queue, and is closed.
constexpr std::size_t kEventsPerRequest = 2;
constexpr std::size_t kPadBytes = 20000;
constexpr std::uint64_t kMiB = 1024 * 1024;
constexpr const char* kTopic = "firehose";
constexpr const char* kEvent = "firehose.blob";

class SlowConsumerTest : public ::testing::Test {
 protected:
  static ServerProcess::Env ServerEnv() {
    // ASan keeps freed memory in a quarantine (256 MiB by default) that would dwarf what the
    // RSS check is about; keep it small. Ignored by builds without ASan.
    const char* existing = std::getenv("ASAN_OPTIONS");
    std::string options = existing != nullptr ? std::string(existing) + ":" : std::string();
    return {{"ASAN_OPTIONS", options + "quarantine_size_mb=16"}};
  }

  void SetUp() override {
    // A tiny receive buffer, so the kernel soaks up little of what the slow client won't read.
    WsConnectOptions options;
    options.receive_buffer_bytes = 4096;
    slow_ = ConnectUser(port(), "slow", {kTopic}, options);
    fast_ = ConnectUser(port(), "fast", {kTopic});
  }

  std::uint16_t port() const { return server_.port(); }

  // Publishes one request's worth of events and has the fast client read them all, checking
  // their order; returns the bytes of event data published.
  std::uint64_t PublishAndReadOneRequest() {
    std::vector<std::string> messages;
    for (std::size_t i = 0; i < kEventsPerRequest; ++i) {
      messages.push_back(
          EventJson(kTopic, kEvent,
                    R"({"seq":)" + std::to_string(next_seq_ + i) + R"(,"pad":")" + pad_ + "\"}"));
    }
    const HttpResponse res = publisher_.PostJson("/realtime/publish", BatchJson(messages));
    if (res.status != 202) {
      throw std::runtime_error("publish: " + std::to_string(res.status) + " " + res.body);
    }
    for (std::size_t i = 0; i < kEventsPerRequest; ++i) ExpectFastReads(next_seq_++);
    return kEventsPerRequest * kPadBytes;
  }

  // The fast client's next event must carry `seq` (presence events aside).
  void ExpectFastReads(std::uint64_t seq) {
    for (;;) {
      const ReadResult r = fast_->Read();
      if (r.kind != ReadResult::Kind::kMessage) {
        throw std::runtime_error("the fast subscriber was disconnected (close code " +
                                 std::to_string(r.close_code) + " " + r.error + ") at seq " +
                                 std::to_string(seq));
      }
      if (r.text.find(kEvent) == std::string::npos) continue;  // e.g. presence of "slow"
      const auto got = ScanSeq(r.text);
      if (!got || *got != seq) {
        throw std::runtime_error("fast subscriber expected seq " + std::to_string(seq) + ", got " +
                                 (got ? std::to_string(*got) : "none"));
      }
      return;
    }
  }

  double SlowConsumerCloses() {
    const HttpResponse res = publisher_.Send("GET", "/metrics");
    return MetricValue(res.body, "realtime_slow_consumer_closes_total").value_or(-1);
  }

  // The fast client reads but never sends; the heartbeat must not end it during a long push.
  ServerProcess server_{ServerProcess::DevArgs({"--max-queue-bytes", std::to_string(kMaxQueueBytes),
                                                "--heartbeat-seconds", "3600"}),
                        ServerEnv()};
  HttpConnection publisher_{server_.port()};
  std::unique_ptr<WsClient> slow_;
  std::unique_ptr<WsClient> fast_;
  const std::string pad_ = std::string(kPadBytes, 'x');
  std::uint64_t next_seq_ = 0;
};

TEST_F(SlowConsumerTest, ClientThatStopsReadingIsClosedWith4008WhileOthersReceiveAll) {
  // Far more than socket buffers and the queue can hold; only reached if nothing closes it.
  constexpr std::uint64_t kGiveUpAfter = 256 * kMiB;
  std::uint64_t pushed = 0;
  int requests = 0;
  while (SlowConsumerCloses() < 1) {
    ASSERT_LT(pushed, kGiveUpAfter) << "the slow consumer was never closed";
    for (int i = 0; i < 8; ++i, ++requests) pushed += PublishAndReadOneRequest();
  }

  // Now it reads: what the kernel buffered, then the server's close frame. If the server's
  // hard deadline for the close handshake passed first, it sees the socket end instead, and
  // the metric above is the evidence.
  const CloseResult closed = slow_->WaitForClose(std::chrono::seconds(60));
  if (closed.close_frame) {
    EXPECT_EQ(closed.code, 4008);
  } else {
    std::cerr << "the slow client saw no close frame (" << closed.error
              << "): the server's close deadline passed first\n";
  }

  // The other subscriber got every event so far, in order (checked as it read), and keeps
  // getting them.
  for (int i = 0; i < 50; ++i) PublishAndReadOneRequest();
  EXPECT_NO_THROW(ReadUntilPong(*fast_, "still-here"));
  EXPECT_GE(ScrapeMetric(port(), "realtime_slow_consumer_closes_total"), 1.0);
  std::cerr << "closed after " << requests << " requests, " << pushed / kMiB << " MiB\n";
}

TEST_F(SlowConsumerTest, ServerMemoryStaysBoundedWhileAClientStopsReading) {
#if defined(__SANITIZE_ADDRESS__)
  // The RSS bound is not asserted under ASan (below): enough traffic for the slow consumer's
  // close, not 512 MiB through a sanitized server (114 s of the CI's ASan run).
  constexpr std::uint64_t kPushBytes = 64 * kMiB;
#else
  constexpr std::uint64_t kPushBytes = 512 * kMiB;
#endif
  [[maybe_unused]] constexpr std::uint64_t kMaxRssBytes = 200 * kMiB;  // release builds only
  std::uint64_t pushed = 0;
  std::uint64_t max_rss = server_.RssBytes();
  for (int request = 0; pushed < kPushBytes; ++request) {
    pushed += PublishAndReadOneRequest();
    if (request % 64 == 0) max_rss = std::max(max_rss, server_.RssBytes());
  }
  max_rss = std::max(max_rss, server_.RssBytes());
#if defined(__SANITIZE_ADDRESS__)
  // Under AddressSanitizer the server's RSS reaches ~410 MiB here (10 MiB in the release build
  // for the same traffic), with or without a small quarantine: ASan's allocator, not live data,
  // as far as we can tell. The release run of this test asserts the bound.
  std::cerr << "ASan build: RSS bound not asserted\n";
#else
  EXPECT_LT(max_rss, kMaxRssBytes) << "server RSS reached " << max_rss / kMiB << " MiB after "
                                   << pushed / kMiB << " MiB were published";
#endif
  EXPECT_GE(ScrapeMetric(port(), "realtime_slow_consumer_closes_total"), 1.0);
  std::cerr << "max server RSS " << max_rss / kMiB << " MiB over " << pushed / kMiB
            << " MiB published\n";
}

// Reads `count` bulk.item events, seq 0..count-1 in order, skipping presence events; fails on a
// close.
void ReadBulkItemsInOrder(WsClient& reader, std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) {
    const ReadResult r = reader.Read();
    ASSERT_EQ(r.kind, ReadResult::Kind::kMessage)
        << "after " << i << " events: close code " << r.close_code << " " << r.error;
    if (r.text.find("bulk.item") == std::string::npos) {
      --i;  // a presence event
      continue;
    }
    ASSERT_EQ(ScanSeq(r.text), i);
  }
}

// A subscriber that reads as fast as it can is not a slow consumer, even when one publish
// request carries the largest batch the API accepts (1,000 messages, body just under 1 MiB)
// for its topic. Defaults for every limit.
TEST(SlowConsumerLimitsTest, ReaderOfALargestAllowedBatchIsNotClosed) {
  ServerProcess server(ServerProcess::DevArgs());
  auto reader = ConnectUser(server.port(), "reader", {"bulk"});

  // 1,000 messages (the most a request may hold) of equal size, the body just under
  // REALTIME_MAX_BODY_BYTES (1 MiB); each message is far below REALTIME_MAX_MESSAGE_BYTES.
  constexpr std::size_t kMessages = 1000;
  constexpr std::size_t kBodyLimit = 1024 * 1024;
  auto message = [](std::size_t seq, std::size_t pad) {
    const std::string digits = std::to_string(seq);
    return EventJson(
        "bulk", "bulk.item",
        R"({"seq":)" + digits + R"(,"pad":")" + std::string(pad + 4 - digits.size(), 'x') + "\"}");
  };
  const std::size_t per_message_overhead = message(0, 0).size() + 1;  // and a comma
  const std::size_t pad = (kBodyLimit - 64) / kMessages - per_message_overhead;
  std::vector<std::string> messages;
  for (std::size_t i = 0; i < kMessages; ++i) messages.push_back(message(i, pad));
  const std::string body = BatchJson(messages);
  ASSERT_LE(body.size(), kBodyLimit);
  ASSERT_GT(body.size(), kBodyLimit - 2048);

  const HttpResponse res = HttpPostJson(server.port(), "/realtime/publish", body);
  ASSERT_EQ(res.status, 202) << res.body;
  ASSERT_NO_FATAL_FAILURE(ReadBulkItemsInOrder(*reader, kMessages));
  EXPECT_EQ(ScrapeMetric(server.port(), "realtime_slow_consumer_closes_total"), 0.0);
}

// The bound is on what the socket does not take: frames queued in one loop turn beyond
// REALTIME_MAX_QUEUE_BYTES are written at once, so a reader that keeps up is not closed even when
// each publish carries 25 times the bound for it.
TEST(SlowConsumerLimitsTest, ReaderOfBatchesFarLargerThanASmallBoundIsNotClosed) {
  ServerProcess server(ServerProcess::DevArgs({"--max-queue-bytes", "4096"}));
  auto reader = ConnectUser(server.port(), "reader", {"bulk"});
  constexpr std::size_t kRequests = 5, kMessages = 200;
  HttpConnection http(server.port());
  std::size_t seq = 0;
  for (std::size_t r = 0; r < kRequests; ++r) {
    std::vector<std::string> messages;
    for (std::size_t i = 0; i < kMessages; ++i, ++seq) {
      messages.push_back(EventJson(
          "bulk", "bulk.item",
          R"({"seq":)" + std::to_string(seq) + R"(,"pad":")" + std::string(500, 'x') + "\"}"));
    }
    const HttpResponse res = http.PostJson("/realtime/publish", BatchJson(messages));
    ASSERT_EQ(res.status, 202) << res.body;
  }
  ASSERT_NO_FATAL_FAILURE(ReadBulkItemsInOrder(*reader, kRequests * kMessages));
  EXPECT_EQ(ScrapeMetric(server.port(), "realtime_slow_consumer_closes_total"), 0.0);
}

}  // namespace
}  // namespace realtime::testing
