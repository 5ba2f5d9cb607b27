// The HTTP side: POST /realtime/publish (success, validation, limits, auth), /health,
// /metrics, CORS and unknown paths.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <string>

#include "support/server_process.hpp"
#include "support/test_helpers.hpp"

namespace realtime::testing {
namespace {

namespace json = boost::json;

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// An error response: JSON {"error":CODE,"message":...} whose message mentions `mentions`.
void ExpectJsonError(const HttpResponse& res, int status, std::string_view code,
                     std::string_view mentions = {}) {
  EXPECT_EQ(res.status, status) << res.body;
  EXPECT_NE(res.Header("Content-Type").find("application/json"), std::string::npos);
  json::value body;
  ASSERT_NO_THROW(body = res.Json()) << res.body;
  ASSERT_TRUE(body.is_object()) << res.body;
  EXPECT_EQ(StringField(body.as_object(), "error"), code) << res.body;
  const std::string message = StringField(body.as_object(), "message");
  EXPECT_NE(message.find(mentions), std::string::npos)
      << "message \"" << message << "\" should name " << mentions;
}

class HttpApiTest : public ::testing::Test {
 protected:
  std::uint16_t port() const { return server_.port(); }

  HttpResponse PublishBody(std::string body) {
    return HttpPostJson(port(), "/realtime/publish", std::move(body));
  }

  ServerProcess server_{ServerProcess::DevArgs()};
};

TEST_F(HttpApiTest, PublishOneEventReturns202WithCount) {
  auto client = ConnectUser(port(), "alice", {"orders"});
  const HttpResponse res = Publish(port(), "orders", "order.created", R"({"id":7})");
  EXPECT_EQ(res.status, 202);
  EXPECT_EQ(res.Json(), json::parse(R"({"published":1})"));
  EXPECT_EQ(ExpectEvent(*client, "orders", "order.created"), json::parse(R"({"id":7})"));
}

TEST_F(HttpApiTest, PublishBatchReturns202WithCount) {
  auto client = ConnectUser(port(), "alice", {"orders", "refunds"});
  const HttpResponse res = PublishBody(BatchJson({EventJson("orders", "order.created", "1"),
                                                  EventJson("refunds", "refund.created", "2"),
                                                  EventJson("orders", "order.paid", "3")}));
  EXPECT_EQ(res.status, 202);
  EXPECT_EQ(res.Json(), json::parse(R"({"published":3})"));
  EXPECT_EQ(ExpectEvent(*client, "orders", "order.created"), json::value(1));
  EXPECT_EQ(ExpectEvent(*client, "refunds", "refund.created"), json::value(2));
  EXPECT_EQ(ExpectEvent(*client, "orders", "order.paid"), json::value(3));
}

TEST_F(HttpApiTest, PublishWithoutDataDeliversNull) {
  auto client = ConnectUser(port(), "alice", {"orders"});
  const HttpResponse res = PublishBody(R"({"topic":"orders","event":"order.pinged"})");
  EXPECT_EQ(res.status, 202) << res.body;
  EXPECT_EQ(ExpectEvent(*client, "orders", "order.pinged"), json::value(nullptr));
}

TEST_F(HttpApiTest, PublishWithoutTopicReturns400NamingTopic) {
  ExpectJsonError(PublishBody(R"({"event":"e","data":1})"), 400, "bad_request", "topic");
}

TEST_F(HttpApiTest, PublishWithInvalidTopicReturns400NamingTopic) {
  ExpectJsonError(PublishBody(R"({"topic":"no spaces","event":"e"})"), 400, "bad_request", "topic");
}

TEST_F(HttpApiTest, PublishWithoutEventReturns400NamingEvent) {
  ExpectJsonError(PublishBody(R"({"topic":"a","data":1})"), 400, "bad_request", "event");
}

TEST_F(HttpApiTest, PublishWithNonStringEventReturns400NamingEvent) {
  ExpectJsonError(PublishBody(R"({"topic":"a","event":5})"), 400, "bad_request", "event");
}

TEST_F(HttpApiTest, PublishWithNonJsonBodyReturns400) {
  ExpectJsonError(PublishBody("topic=a&event=e"), 400, "bad_request");
}

TEST_F(HttpApiTest, PublishWithMessagesNotAnArrayReturns400NamingMessages) {
  ExpectJsonError(PublishBody(R"({"messages":{"topic":"a"}})"), 400, "bad_request", "messages");
}

TEST_F(HttpApiTest, BatchWithOneBadMessageReturns400NamingItAndPublishesNothing) {
  auto client = ConnectUser(port(), "alice", {"orders"});
  const HttpResponse res = PublishBody(BatchJson(
      {EventJson("orders", "order.created", "1"), R"({"topic":"orders","event":"bad event"})"}));
  ExpectJsonError(res, 400, "bad_request", "messages[1]");

  // Nothing of the batch may have been delivered: the pong comes first.
  for (const auto& frame : ReadUntilPong(*client, "after-bad-batch")) {
    EXPECT_TRUE(IsPresenceEvent(frame)) << "delivered: " << json::serialize(frame);
  }
}

TEST_F(HttpApiTest, OversizeMessageReturns413) {
  // The default REALTIME_MAX_MESSAGE_BYTES is 65536; the body stays under the 1 MiB limit.
  const std::string data = "\"" + std::string(70 * 1024, 'x') + "\"";
  ExpectJsonError(Publish(port(), "a", "big", data), 413, "message_too_large");
}

TEST_F(HttpApiTest, MoreThan1000MessagesReturns413) {
  std::vector<std::string> messages(1001, EventJson("a", "e", "0"));
  ExpectJsonError(PublishBody(BatchJson(messages)), 413, "message_too_large");
}

TEST_F(HttpApiTest, Exactly1000MessagesAreAccepted) {
  std::vector<std::string> messages(1000, EventJson("a", "e", "0"));
  const HttpResponse res = PublishBody(BatchJson(messages));
  EXPECT_EQ(res.status, 202) << res.body;
  EXPECT_EQ(res.Json(), json::parse(R"({"published":1000})"));
}

TEST_F(HttpApiTest, BodyOver1MiBReturns413) {
  // Many small messages, so no single message is too large: only the body is.
  std::vector<std::string> messages(900, EventJson("a", "e", "\"" + std::string(1200, 'x') + "\""));
  const std::string body = BatchJson(messages);
  ASSERT_GT(body.size(), 1024u * 1024u);
  EXPECT_EQ(PublishBody(body).status, 413);
  ASSERT_NO_FATAL_FAILURE(ExpectFreshClientWorks(port()));
}

TEST_F(HttpApiTest, PublishWithGetIsNotAllowed) {
  const HttpResponse res = HttpGet(port(), "/realtime/publish");
  EXPECT_EQ(res.status, 405) << res.body;
}

TEST_F(HttpApiTest, HealthReportsStatusAndCounters) {
  auto client = ConnectUser(port(), "alice", {"a"});
  const HttpResponse res = HttpGet(port(), "/health");
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_NE(res.Header("Content-Type").find("application/json"), std::string::npos);
  const json::object body = res.Json().as_object();
  EXPECT_EQ(StringField(body, "status"), "ok");
  EXPECT_EQ(StringField(body, "plugin"), "realtime");
  EXPECT_FALSE(StringField(body, "version").empty()) << res.body;
  ASSERT_TRUE(body.contains("connections")) << res.body;
  EXPECT_EQ(body.at("connections"), json::value(1));
  ASSERT_TRUE(body.contains("uptime_seconds")) << res.body;
  EXPECT_TRUE(body.at("uptime_seconds").is_number()) << res.body;
}

TEST_F(HttpApiTest, MetricsExposeConnectionAndMessageCounters) {
  auto client = ConnectUser(port(), "alice", {"a"});
  ASSERT_EQ(Publish(port(), "a", "e", "1").status, 202);
  ASSERT_NO_THROW(ExpectEvent(*client, "a", "e"));
  client->Send("not json");
  ASSERT_EQ(StringField(client->ReadSkippingPresence(), "code"), "bad_request");

  const HttpResponse res = HttpGet(port(), "/metrics");
  ASSERT_EQ(res.status, 200);
  EXPECT_NE(res.Header("Content-Type").find("text/plain"), std::string::npos);
  const std::string& text = res.body;
  EXPECT_EQ(MetricValue(text, "realtime_connections"), 1.0) << text;
  EXPECT_GE(MetricValue(text, "realtime_connections_total").value_or(-1), 1.0) << text;
  EXPECT_EQ(MetricValue(text, "realtime_subscriptions"), 1.0) << text;
  EXPECT_EQ(MetricValue(text, "realtime_topics"), 1.0) << text;
  EXPECT_EQ(MetricValue(text, "realtime_messages_published_total"), 1.0) << text;
  EXPECT_GE(MetricValue(text, "realtime_messages_delivered_total").value_or(-1), 1.0) << text;
  EXPECT_GT(MetricValue(text, "realtime_bytes_out_total").value_or(-1), 0.0) << text;
  EXPECT_EQ(MetricValue(text, "realtime_slow_consumer_closes_total"), 0.0) << text;
  EXPECT_GE(MetricValue(text, R"(realtime_errors_total{code="bad_request"})").value_or(-1), 1.0)
      << text;
}

// HEAD gets GET's status and headers, with Content-Length but no body: the next response on
// the same keep-alive connection starts right after the headers.
TEST_F(HttpApiTest, HeadOfTheDemoPageAndHealthSendsHeadersOnly) {
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket socket(io);
  socket.connect({boost::asio::ip::make_address("127.0.0.1"), port()});
  const std::string requests =
      "HEAD / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
      "HEAD /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
      "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  boost::asio::write(socket, boost::asio::buffer(requests));
  std::string all;
  boost::system::error_code ec;
  char chunk[4096];
  while (true) {
    const std::size_t n = socket.read_some(boost::asio::buffer(chunk), ec);
    if (ec) break;
    all.append(chunk, n);
  }
  // Three responses; the two HEAD ones end at their blank line.
  std::vector<std::string> heads;
  std::size_t at = 0;
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(all.compare(at, 15, "HTTP/1.1 200 OK"), 0) << "response " << i << ":\n" << all;
    const auto end = all.find("\r\n\r\n", at);
    ASSERT_NE(end, std::string::npos) << all;
    heads.push_back(Lower(all.substr(at, end + 4 - at)));
    at = end + 4;
  }
  EXPECT_NE(heads[0].find("content-type: text/html"), std::string::npos) << heads[0];
  EXPECT_EQ(heads[0].find("content-length: 0\r\n"), std::string::npos) << heads[0];
  EXPECT_NE(heads[0].find("content-length: "), std::string::npos) << heads[0];
  EXPECT_NE(heads[1].find("content-type: application/json"), std::string::npos) << heads[1];
  EXPECT_NE(all.find("\"status\":\"ok\"", at), std::string::npos) << all.substr(at);
}

TEST_F(HttpApiTest, UnknownPathReturns404Json) {
  for (const char* path : {"/realtime/nope", "/no/such/page.html", "/healthz"}) {
    SCOPED_TRACE(path);
    const HttpResponse res = HttpGet(port(), path);
    EXPECT_EQ(res.status, 404);
    EXPECT_NE(res.Header("Content-Type").find("application/json"), std::string::npos);
    json::value body;
    ASSERT_NO_THROW(body = res.Json()) << res.body;
    EXPECT_TRUE(body.is_object() && body.as_object().contains("error")) << res.body;
  }
}

TEST_F(HttpApiTest, PlainGetOfConnectPathIsNotAnUpgrade) {
  const HttpResponse res = HttpGet(port(), "/realtime/connect");
  EXPECT_EQ(res.status, 426) << res.body;
}

// Server-side endpoints with REALTIME_API_KEY set: the key is required, in any of its headers.
class HttpAuthTest : public ::testing::Test {
 protected:
  static constexpr const char* kKey = "integration-test-key";

  std::uint16_t port() const { return server_.port(); }

  ServerProcess server_{ServerProcess::DevArgs({"--api-key", kKey})};
};

TEST_F(HttpAuthTest, PublishWithoutKeyReturns401) {
  ExpectJsonError(Publish(port(), "a", "e", "1"), 401, "unauthorized");
  ASSERT_NO_FATAL_FAILURE(ExpectFreshClientWorks(port(), {{"X-Plugin-Secret", kKey}}));
}

TEST_F(HttpAuthTest, PublishWithWrongKeyReturns401) {
  ExpectJsonError(Publish(port(), "a", "e", "1", {{"Authorization", "Bearer wrong-key"}}), 401,
                  "unauthorized");
  ExpectJsonError(Publish(port(), "a", "e", "1", {{"X-Plugin-Secret", "wrong-key"}}), 401,
                  "unauthorized");
  ExpectJsonError(Publish(port(), "a", "e", "1", {{"X-Internal-Token", "wrong-key"}}), 401,
                  "unauthorized");
  // A key that is only a prefix of the real one is wrong too.
  ExpectJsonError(Publish(port(), "a", "e", "1", {{"X-Plugin-Secret", "integration"}}), 401,
                  "unauthorized");
}

TEST_F(HttpAuthTest, PublishAcceptsKeyInEachHeader) {
  auto client = ConnectUser(port(), "alice", {"a"});
  const Headers ways[] = {{{"Authorization", std::string("Bearer ") + kKey}},
                          {{"X-Plugin-Secret", kKey}},
                          {{"X-Internal-Token", kKey}}};
  int n = 0;
  for (const Headers& headers : ways) {
    SCOPED_TRACE(headers.front().first);
    const HttpResponse res = Publish(port(), "a", "e", std::to_string(n), headers);
    EXPECT_EQ(res.status, 202) << res.body;
    EXPECT_EQ(ExpectEvent(*client, "a", "e"), json::value(n));
    ++n;
  }
}

TEST_F(HttpAuthTest, PresenceWithoutKeyReturns401) {
  EXPECT_EQ(HttpGet(port(), "/realtime/presence/a").status, 401);
  EXPECT_EQ(HttpGet(port(), "/realtime/presence/a", {{"X-Plugin-Secret", kKey}}).status, 200);
}

// CORS comes from REALTIME_CORS_ORIGIN; a production-mode server to make it matter.
class CorsTest : public ::testing::Test {
 protected:
  static constexpr const char* kAllowedOrigin = "https://app.example";

  std::uint16_t port() const { return server_.port(); }

  HttpResponse Preflight(const std::string& origin) {
    return SendHttp(port(), "OPTIONS", "/realtime/publish", {},
                    {{"Origin", origin},
                     {"Access-Control-Request-Method", "POST"},
                     {"Access-Control-Request-Headers", "authorization, content-type"}});
  }

  ServerProcess server_{ServerProcess::ProductionArgs(kAllowedOrigin, "k"),
                        ServerProcess::ProductionEnv()};
};

TEST_F(CorsTest, PreflightFromAllowedOriginIsAnswered) {
  const HttpResponse res = Preflight(kAllowedOrigin);
  EXPECT_GE(res.status, 200);
  EXPECT_LT(res.status, 300);
  EXPECT_EQ(res.Header("Access-Control-Allow-Origin"), kAllowedOrigin);
  EXPECT_NE(res.Header("Access-Control-Allow-Methods").find("POST"), std::string::npos);
  const std::string allowed_headers = Lower(res.Header("Access-Control-Allow-Headers"));
  EXPECT_NE(allowed_headers.find("authorization"), std::string::npos) << allowed_headers;
  EXPECT_NE(allowed_headers.find("content-type"), std::string::npos) << allowed_headers;
}

TEST_F(CorsTest, PreflightFromOtherOriginIsRefused) {
  const HttpResponse res = Preflight("https://evil.example");
  EXPECT_EQ(res.status, 403) << res.body;
  EXPECT_FALSE(res.HasHeader("Access-Control-Allow-Origin"))
      << res.Header("Access-Control-Allow-Origin");
}

TEST_F(CorsTest, ResponsesToAllowedOriginCarryAllowOrigin) {
  const HttpResponse res = HttpGet(port(), "/health", {{"Origin", kAllowedOrigin}});
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.Header("Access-Control-Allow-Origin"), kAllowedOrigin);
  const HttpResponse other = HttpGet(port(), "/health", {{"Origin", "https://evil.example"}});
  EXPECT_FALSE(other.HasHeader("Access-Control-Allow-Origin"));
}

}  // namespace
}  // namespace realtime::testing
