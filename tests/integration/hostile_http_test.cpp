// Hostile HTTP on a real socket: request smuggling shapes (Content-Length with
// Transfer-Encoding, two Content-Lengths, obfuscated Transfer-Encodings, obs-fold, bare LF) and
// oversized or malformed upgrade requests. Each ambiguous request is refused once and its
// connection closed, so bytes behind it never run as a second request: a publish hidden there
// reaches nobody. What is well-formed is answered one response per request.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/raw_socket.hpp"
#include "support/server_process.hpp"
#include "support/test_helpers.hpp"

namespace realtime::testing {
namespace {

using namespace std::chrono_literals;

constexpr const char* kTopic = "smuggled";

// A complete publish to kTopic: the request a smuggler hides behind the first one.
std::string SmuggledPublish() {
  const std::string body = EventJson(kTopic, "gotcha", "1");
  return "POST /realtime/publish HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
         "Content-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

class HostileHttpTest : public ::testing::Test {
 protected:
  void SetUp() override { watcher_ = ConnectUser(server_.port(), "watcher", {kTopic}); }

  // Sends `bytes` on a fresh connection and returns the responses until the server closes it.
  std::vector<HttpResponse> Exchange(const std::string& bytes, bool* closed) {
    RawSocket socket(server_.port());
    socket.Send(bytes);
    const RawSocket::Received got = socket.ReadUntilClosed(20s);
    *closed = got.closed;
    return ParseHttpResponses(got.bytes);
  }

  // The request is refused with one 400, the connection closed, and nothing hidden behind it
  // was published.
  void ExpectRefusedAlone(const std::string& request) {
    bool closed = false;
    const auto responses = Exchange(request + SmuggledPublish(), &closed);
    ASSERT_EQ(responses.size(), 1u) << "two requests out of one:\n" << request;
    EXPECT_EQ(responses[0].status, 400) << responses[0].body;
    EXPECT_TRUE(closed) << "the connection stayed open after an ambiguous request";
    for (const auto& frame : ReadUntilPong(*watcher_, "after")) {
      EXPECT_NE(StringField(frame, "event"), "gotcha") << "the hidden publish was delivered";
    }
  }

  ServerProcess server_{ServerProcess::DevArgs()};
  std::unique_ptr<WsClient> watcher_;
};

TEST_F(HostileHttpTest, ContentLengthThenChunkedIsRefused) {
  ExpectRefusedAlone(
      "POST /realtime/publish HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
      "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
}

TEST_F(HostileHttpTest, ChunkedThenContentLengthIsRefused) {
  ExpectRefusedAlone(
      "POST /realtime/publish HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
      "Content-Length: 5\r\n\r\n0\r\n\r\n");
}

TEST_F(HostileHttpTest, TwoDifferentContentLengthsAreRefused) {
  ExpectRefusedAlone(
      "POST /realtime/publish HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
      "Content-Length: 0\r\n\r\n{}");
}

// The parser reads these as "no body"; a proxy in front that reads the chunked body would send
// the rest as part of this request. Refused since request_framing (found by this test).
TEST_F(HostileHttpTest, ObfuscatedTransferEncodingsAreRefused) {
  for (const char* te : {"xchunked", "chunked, identity", "identity", " chunked\r\n\tx"}) {
    SCOPED_TRACE(te);
    ExpectRefusedAlone(std::string("POST /realtime/publish HTTP/1.1\r\nHost: x\r\n") +
                       "Transfer-Encoding: " + te + "\r\n\r\n");
  }
}

TEST_F(HostileHttpTest, TwoTransferEncodingFieldsAreRefused) {
  ExpectRefusedAlone(
      "POST /realtime/publish HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\n"
      "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
}

// The parser took Content-Length after a non-chunked Transfer-Encoding as the body's length.
TEST_F(HostileHttpTest, TransferEncodingWithContentLengthIsRefused) {
  ExpectRefusedAlone(
      "POST /realtime/publish HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n"
      "Content-Length: 2\r\n\r\n{}");
}

TEST_F(HostileHttpTest, BareLineFeedsAreRefused) {
  ExpectRefusedAlone("GET /health HTTP/1.1\nHost: x\n\n");
  ExpectRefusedAlone("GET /health HTTP/1.1\r\nHost: x\nX-A: b\r\n\r\n");
}

TEST_F(HostileHttpTest, NegativeOrSignedContentLengthIsRefused) {
  ExpectRefusedAlone("POST /realtime/publish HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n");
  ExpectRefusedAlone("POST /realtime/publish HTTP/1.1\r\nHost: x\r\nContent-Length: +2\r\n\r\n{}");
}

// RFC 9112 lets a server unfold obs-fold into a space: a folded header is one header, a
// folded Transfer-Encoding is chunked, and each request still gets exactly one response.
TEST_F(HostileHttpTest, ObsFoldIsUnfoldedAndEachRequestAnsweredOnce) {
  const std::string body = EventJson("folded", "e", "1");
  std::string chunk;
  chunk += "2\r\n";
  chunk += body.substr(0, 2);
  chunk += "\r\n";
  char size[16];
  std::snprintf(size, sizeof size, "%zx", body.size() - 2);
  chunk += size;
  chunk += "\r\n" + body.substr(2) + "\r\n0\r\n\r\n";
  bool closed = false;
  const auto responses = Exchange(
      "GET /health HTTP/1.1\r\nHost: x\r\nX-Note: a\r\n b\r\n\r\n"
      "POST /realtime/publish HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\r\n chunked\r\n\r\n" +
          chunk + "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
      &closed);
  ASSERT_EQ(responses.size(), 3u);
  EXPECT_EQ(responses[0].status, 200);
  EXPECT_EQ(responses[1].status, 202) << responses[1].body;
  EXPECT_EQ(responses[2].status, 200);
  EXPECT_TRUE(closed);
}

// HTTP/1.0 with chunked framing: answered once, then closed (RFC 9112 §6.1).
TEST_F(HostileHttpTest, Http10WithTransferEncodingIsAnsweredOnceAndClosed) {
  bool closed = false;
  const auto responses =
      Exchange("POST /realtime/publish HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" +
                   SmuggledPublish(),
               &closed);
  EXPECT_EQ(responses.size(), 1u);
  EXPECT_TRUE(closed);
  for (const auto& frame : ReadUntilPong(*watcher_, "after")) {
    EXPECT_NE(StringField(frame, "event"), "gotcha") << "the hidden publish was delivered";
  }
}

// ---------------------------------------------------------------------------------------------
// Oversized and malformed upgrade requests: one refusal each, the connection closed (a refused
// upgrade never becomes keep-alive), and the server keeps serving.

struct BadUpgrade {
  const char* name;
  std::string request;
  int status;
};

std::vector<BadUpgrade> BadUpgrades() {
  const std::string pad(20 * 1024, 'a');
  std::string many_headers;
  for (int i = 0; i < 2000; ++i) many_headers += "X-H" + std::to_string(i) + ": v\r\n";
  std::string many_topics = "/realtime/connect?user=u&topics=";
  for (int i = 0; i < 1500; ++i) many_topics += "t" + std::to_string(i) + ",";
  return {
      {"a 20 KiB header", UpgradeRequest("/realtime/connect?user=u", "X-Pad: " + pad + "\r\n"),
       400},
      {"2,000 headers", UpgradeRequest("/realtime/connect?user=u", many_headers), 400},
      {"a 20 KiB target", UpgradeRequest("/realtime/connect?user=" + pad), 400},
      {"more topics than REALTIME_MAX_SUBSCRIPTIONS", UpgradeRequest(many_topics), 400},
      {"no key",
       "GET /realtime/connect?user=u HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
       "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n",
       400},
      {"a short key",
       "GET /realtime/connect?user=u HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
       "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: abc=\r\n\r\n",
       400},
      {"version 8",
       "GET /realtime/connect?user=u HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
       "Connection: Upgrade\r\nSec-WebSocket-Version: 8\r\n"
       "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
       426},
      {"a malformed target", UpgradeRequest("/realtime/connect?user=%zz"), 400},
      {"a bad user id", UpgradeRequest("/realtime/connect?user=a%20b"), 400},
      {"chunked framing", UpgradeRequest("/realtime/connect?user=u", "Transfer-Encoding: xx\r\n"),
       400},
      {"a TLS ClientHello", std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11), 400},
  };
}

TEST_F(HostileHttpTest, OversizedAndMalformedUpgradesAreRefusedOnceAndClosed) {
  for (const BadUpgrade& bad : BadUpgrades()) {
    SCOPED_TRACE(bad.name);
    bool closed = false;
    const auto responses =
        Exchange(bad.request + UpgradeRequest("/realtime/connect?user=v"), &closed);
    ASSERT_EQ(responses.size(), 1u);
    EXPECT_EQ(responses[0].status, bad.status) << responses[0].body;
    EXPECT_TRUE(closed);
  }
  EXPECT_EQ(ScrapeMetric(server_.port(), "realtime_connections"), 1.0);  // the watcher
  ASSERT_NO_FATAL_FAILURE(ExpectFreshClientWorks(server_.port()));
}

// Half a request, then the client goes: nothing to answer, nothing left behind.
TEST_F(HostileHttpTest, TruncatedUpgradeRequestsLeaveNothingBehind) {
  const std::string full = UpgradeRequest("/realtime/connect?user=u&topics=a,b");
  for (std::size_t cut : {1ul, 20ul, full.size() / 2, full.size() - 2}) {
    RawSocket socket(server_.port());
    socket.Send(full.substr(0, cut));
  }
  ASSERT_TRUE(
      WaitUntil([&] { return ScrapeMetric(server_.port(), "realtime_connections") == 1.0; }, 10s));
  ASSERT_NO_FATAL_FAILURE(ExpectFreshClientWorks(server_.port()));
}

}  // namespace
}  // namespace realtime::testing
