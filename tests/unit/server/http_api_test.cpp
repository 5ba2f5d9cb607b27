#include "server/http_api.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <cctype>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "server/fake_engine.hpp"

namespace realtime {
namespace {

namespace json = boost::json;

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

constexpr const char* kOrigin = "https://app.example";
constexpr const char* kKey = "s3cret-key";

using Headers = std::vector<std::pair<std::string, std::string>>;

using testing::FakeBroker;
using testing::FakePresenceStore;

std::optional<std::string> header_of(const HttpResponse& r, std::string_view name) {
  for (const auto& [n, v] : r.headers) {
    if (n == name) return v;
  }
  return std::nullopt;
}

json::object body_object(const HttpResponse& r) {
  json::error_code ec;
  json::value v = json::parse(r.body, ec);
  if (ec || !v.is_object()) {
    ADD_FAILURE() << "body is not a JSON object: " << r.body;
    return {};
  }
  return v.as_object();
}

HttpRequest request(std::string method, std::string target, Headers headers = {},
                    std::string body = {}) {
  HttpRequest r;
  r.method = std::move(method);
  r.target = std::move(target);
  r.headers = std::move(headers);
  r.body = std::move(body);
  return r;
}

const std::string kOneEvent =
    R"({"topic":"channel:42","event":"chat.message.created","data":{"a":1}})";

class HttpApiTest : public ::testing::Test {
 protected:
  HttpApiTest() {
    config.cors_origins = {kOrigin};
    config.api_key = kKey;
    config.threads = 2;
  }

  // Runs one request; checks that respond() ran exactly once, synchronously (the fakes answer at
  // once).
  HttpResponse send(const HttpRequest& r) {
    std::optional<HttpResponse> out;
    int calls = 0;
    api.handle(r, [&](HttpResponse response) {
      ++calls;
      out = std::move(response);
    });
    EXPECT_EQ(calls, 1) << r.method << ' ' << r.target;
    return out.value_or(HttpResponse{0, "", "", {}});
  }

  HttpResponse publish(std::string body, Headers headers = {{"x-plugin-secret", kKey}}) {
    return send(request("POST", "/realtime/publish", std::move(headers), std::move(body)));
  }

  HttpResponse presence_of(std::string topic, Headers headers = {{"x-plugin-secret", kKey}}) {
    return send(request("GET", "/realtime/presence/" + topic, std::move(headers)));
  }

  // An upgrade request with the handshake headers every WebSocket client sends (RFC 6455's
  // example key); `headers` come first, so a test can override them.
  std::variant<UpgradeGrant, HttpResponse> upgrade(std::string target, Headers headers = {}) {
    headers.emplace_back("sec-websocket-version", "13");
    headers.emplace_back("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==");
    return api.upgrade(request("GET", std::move(target), std::move(headers)));
  }

  UpgradeGrant granted(std::string target, Headers headers = {}) {
    auto result = upgrade(std::move(target), std::move(headers));
    if (auto* refused = std::get_if<HttpResponse>(&result)) {
      ADD_FAILURE() << "upgrade refused: " << refused->status << ' ' << refused->body;
      return {};
    }
    return std::get<UpgradeGrant>(result);
  }

  HttpResponse refused(std::string target, Headers headers = {}) {
    auto result = upgrade(std::move(target), std::move(headers));
    if (auto* response = std::get_if<HttpResponse>(&result)) return *response;
    ADD_FAILURE() << "upgrade granted";
    return {};
  }

  std::string metrics_text() { return send(request("GET", "/metrics")).body; }

  Config config;
  FakeBroker broker;
  FakePresenceStore presence;
  Metrics metrics{1};
  Security security{std::nullopt, std::string(32, 's'), 60, std::make_unique<MemoryUsedTokens>()};
  Authorizer authorizer{AccessRules::defaults(), 1000};
  HttpApi api{config, security, authorizer, broker, presence, metrics, ""};
};

// ---------------------------------------------------------------------------------------------
// /health

TEST_F(HttpApiTest, HealthIsOkJsonWithItsFields) {
  broker.topics = 3;
  const HttpResponse r = send(request("GET", "/health"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/json");
  const json::object o = body_object(r);
  EXPECT_EQ(o.at("status"), "ok");
  EXPECT_EQ(o.at("plugin"), "realtime");
  EXPECT_EQ(o.at("version"), REALTIME_VERSION);
  EXPECT_EQ(o.at("connections"), 0);
  EXPECT_TRUE(o.at("uptime_seconds").is_number());
  EXPECT_GE(o.at("uptime_seconds").to_number<double>(), 0);
  EXPECT_EQ(o.at("engine"), "fake");
  EXPECT_EQ(o.at("topics"), 3);
  EXPECT_EQ(o.at("shards"), 2);
}

TEST_F(HttpApiTest, HealthCountsOpenConnections) {
  ASSERT_TRUE(metrics.try_acquire_connection(10));
  ASSERT_TRUE(metrics.try_acquire_connection(10));
  EXPECT_EQ(body_object(send(request("GET", "/health"))).at("connections"), 2);
}

TEST_F(HttpApiTest, HealthIsDegradedWith503WhenTheBrokerIsUnhealthy) {
  broker.is_healthy = false;
  const HttpResponse r = send(request("GET", "/health"));
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(body_object(r).at("status"), "degraded");
}

TEST_F(HttpApiTest, HealthShowsPersistenceOffWithoutADatabase) {
  const json::object o = body_object(send(request("GET", "/health")));
  EXPECT_EQ(o.at("database"), "off");
  EXPECT_EQ(o.at("database_kind"), "none");
}

TEST_F(HttpApiTest, HealthSaysWhatNselfsInstallerAndComposeReadWithoutADatabase) {
  const json::object o = body_object(send(request("GET", "/health")));
  EXPECT_EQ(o.at("service"), "realtime");
  EXPECT_EQ(o.at("uptime"), o.at("uptime_seconds"));
  // Nothing to migrate is ready: applied == expected.
  EXPECT_EQ(o.at("migrations"), json::parse(R"({"applied":0,"expected":0})"));
  // The embedded engine and no database: no dependencies at all.
  EXPECT_EQ(o.at("dependencies"), json::object());
}

TEST_F(HttpApiTest, HealthShowsTheMigrationsOfTheDatabase) {
  storage::WriterStats db;
  db.kind = "postgres";
  db.migrations_expected = 3;
  db.migrations_applied = 2;
  metrics.set_database(&db);
  EXPECT_EQ(body_object(send(request("GET", "/health"))).at("migrations"),
            json::parse(R"({"applied":2,"expected":3})"));
  metrics.set_database(nullptr);
}

TEST_F(HttpApiTest, ADatabaseDownIsDegradedButStays200BecauseDeliveryWorksWithoutIt) {
  storage::WriterStats db;
  db.kind = "postgres";
  metrics.set_database(&db);
  HttpResponse r = send(request("GET", "/health"));
  EXPECT_EQ(r.status, 200);
  json::object o = body_object(r);
  EXPECT_EQ(o.at("status"), "degraded");
  EXPECT_EQ(o.at("database"), "down");
  EXPECT_EQ(o.at("database_kind"), "postgres");
  EXPECT_EQ(o.at("dependencies").at("database"),
            json::parse(R"({"status":"down","latency_ms":null})"));

  db.up = true;
  db.probe_latency_us = 1234;
  r = send(request("GET", "/health"));
  EXPECT_EQ(r.status, 200);
  o = body_object(r);
  EXPECT_EQ(o.at("status"), "ok");
  EXPECT_EQ(o.at("database"), "ok");
  EXPECT_EQ(o.at("dependencies").at("database"),
            json::parse(R"({"status":"ok","latency_ms":1.234})"));
  metrics.set_database(nullptr);
}

TEST_F(HttpApiTest, ADatabaseCallRunningLongerThanTheStallLimitCountsAsDown) {
  using namespace std::chrono;
  storage::WriterStats db;
  db.kind = "postgres";
  db.up = true;
  db.probe_latency_us = 500;
  db.stall_limit = seconds(2);
  metrics.set_database(&db);
  const auto since = [](steady_clock::duration ago) {
    return duration_cast<nanoseconds>((steady_clock::now() - ago).time_since_epoch()).count();
  };
  db.busy_since_ns = since(milliseconds(100));  // a write in progress: still up
  EXPECT_EQ(body_object(send(request("GET", "/health"))).at("database"), "ok");
  db.busy_since_ns = since(seconds(3));  // the database hangs
  const json::object o = body_object(send(request("GET", "/health")));
  EXPECT_EQ(o.at("database"), "down");
  EXPECT_EQ(o.at("status"), "degraded");
  EXPECT_EQ(o.at("dependencies").at("database").at("latency_ms"), nullptr);
  EXPECT_THAT(metrics_text(), HasSubstr("\nrealtime_database_up 0\n"));
  metrics.set_database(nullptr);
}

TEST_F(HttpApiTest, HealthShowsTheEnginesDependencyWithItsProbeLatency) {
  broker.engine_dependency = DependencyHealth{"redis", true, std::chrono::microseconds(250), {}};
  json::object o = body_object(send(request("GET", "/health")));
  EXPECT_EQ(o.at("dependencies").at("redis"), json::parse(R"({"status":"ok","latency_ms":0.250})"));

  broker.is_healthy = false;
  broker.engine_dependency = DependencyHealth{"redis", false, std::nullopt, {}};
  const HttpResponse r = send(request("GET", "/health"));
  EXPECT_EQ(r.status, 503);
  o = body_object(r);
  EXPECT_EQ(o.at("status"), "degraded");
  EXPECT_EQ(o.at("dependencies").at("redis"),
            json::parse(R"({"status":"down","latency_ms":null})"));
}

TEST_F(HttpApiTest, HealthsCodeAndTheEnginesEntryComeFromOneSnapshot) {
  // healthy() read a moment apart from dependency() may already say otherwise (Redis dying
  // between the two reads): the snapshot decides both.
  broker.is_healthy = true;
  broker.engine_dependency = DependencyHealth{"redis", false, std::nullopt, {}};
  HttpResponse r = send(request("GET", "/health"));
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(body_object(r).at("dependencies").at("redis").at("status"), "down");

  broker.is_healthy = false;
  broker.engine_dependency = DependencyHealth{"redis", true, std::chrono::microseconds(400), {}};
  r = send(request("GET", "/health"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(body_object(r).at("dependencies").at("redis").at("status"), "ok");
}

TEST_F(HttpApiTest, HealthShowsEachRedisClusterShard) {
  broker.is_healthy = false;
  broker.engine_dependency =
      DependencyHealth{"redis",
                       false,
                       std::nullopt,
                       {{"10.0.0.1:7000", true, std::chrono::microseconds(120), 8192},
                        {"[::1]:7001", false, std::nullopt, 8192}}};
  const json::object o = body_object(send(request("GET", "/health")));
  EXPECT_EQ(o.at("dependencies").at("redis"), json::parse(R"({"status":"down","latency_ms":null,
      "shards":[{"node":"10.0.0.1:7000","slots":8192,"status":"ok","latency_ms":0.120},
                {"node":"[::1]:7001","slots":8192,"status":"down","latency_ms":null}]})"));
}

TEST_F(HttpApiTest, MetricsIncludeTheLastSeenWriterCounters) {
  storage::WriterStats db;
  db.kind = "sqlite";
  db.up = true;
  db.pending = 3;
  db.written = 7;
  db.write_failures = 2;
  db.dropped = 1;
  metrics.set_database(&db);
  const std::string body = send(request("GET", "/metrics")).body;
  EXPECT_THAT(body, HasSubstr("\nrealtime_database_up 1\n"));
  EXPECT_THAT(body, HasSubstr("\nrealtime_presence_pending_rows 3\n"));
  EXPECT_THAT(body, HasSubstr("\nrealtime_presence_rows_written_total 7\n"));
  EXPECT_THAT(body, HasSubstr("\nrealtime_presence_write_failures_total 2\n"));
  EXPECT_THAT(body, HasSubstr("\nrealtime_presence_rows_dropped_total 1\n"));
  metrics.set_database(nullptr);
}

TEST_F(HttpApiTest, HealthIgnoresTheQueryString) {
  EXPECT_EQ(send(request("GET", "/health?verbose=1")).status, 200);
}

TEST_F(HttpApiTest, HealthAnswersHead) { EXPECT_EQ(send(request("HEAD", "/health")).status, 200); }

TEST_F(HttpApiTest, HealthNeedsNoKey) {
  config.dev = false;
  EXPECT_EQ(send(request("GET", "/health")).status, 200);
}

TEST_F(HttpApiTest, PostToHealthIs405WithAllow) {
  const HttpResponse r = send(request("POST", "/health"));
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(header_of(r, "Allow"), "GET, HEAD");
  EXPECT_EQ(body_object(r).at("error"), "method_not_allowed");
}

// ---------------------------------------------------------------------------------------------
// /metrics

TEST_F(HttpApiTest, MetricsIsPrometheusText) {
  const HttpResponse r = send(request("GET", "/metrics"));
  EXPECT_EQ(r.status, 200);
  EXPECT_THAT(r.content_type, StartsWith("text/plain"));
  for (const char* name :
       {"realtime_connections ", "realtime_connections_total ", "realtime_subscriptions ",
        "realtime_topics ", "realtime_messages_published_total ",
        "realtime_messages_delivered_total ", "realtime_bytes_out_total ",
        "realtime_slow_consumer_closes_total ", "realtime_errors_total{code=\"bad_request\"} "}) {
    EXPECT_THAT(r.body, HasSubstr(name));
  }
  EXPECT_THAT(r.body, HasSubstr("# TYPE realtime_connections gauge\n"));
  EXPECT_THAT(r.body, HasSubstr("# TYPE realtime_messages_published_total counter\n"));
}

TEST_F(HttpApiTest, MetricsListsEveryErrorCode) {
  const std::string text = metrics_text();
  for (std::size_t i = 0; i < error_code_count; ++i) {
    EXPECT_THAT(text, HasSubstr("realtime_errors_total{code=\"" +
                                std::string(to_string(static_cast<ErrorCode>(i))) + "\"} 0\n"));
  }
}

TEST_F(HttpApiTest, MetricsReportsTheBrokersTopicCountAndEngine) {
  broker.topics = 7;
  const std::string text = metrics_text();
  EXPECT_THAT(text, HasSubstr("\nrealtime_topics 7\n"));
  EXPECT_THAT(text, HasSubstr("engine=\"fake\""));
}

TEST_F(HttpApiTest, MetricsCountsConnections) {
  ASSERT_TRUE(metrics.try_acquire_connection(10));
  ASSERT_TRUE(metrics.try_acquire_connection(10));
  metrics.release_connection();
  const std::string text = metrics_text();
  EXPECT_THAT(text, HasSubstr("\nrealtime_connections 1\n"));
  EXPECT_THAT(text, HasSubstr("\nrealtime_connections_total 2\n"));
}

TEST_F(HttpApiTest, MetricsCountsPublishedMessages) {
  ASSERT_EQ(publish(R"({"messages":[{"topic":"a","event":"e"},{"topic":"b","event":"e"}]})").status,
            202);
  EXPECT_THAT(metrics_text(), HasSubstr("\nrealtime_messages_published_total 2\n"));
}

TEST_F(HttpApiTest, MetricsCountsPublishErrorsByCode) {
  ASSERT_EQ(publish("not json").status, 400);
  EXPECT_THAT(metrics_text(), HasSubstr("realtime_errors_total{code=\"bad_request\"} 1\n"));
}

TEST_F(HttpApiTest, PostToMetricsIs405) {
  const HttpResponse r = send(request("POST", "/metrics"));
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(header_of(r, "Allow"), "GET, HEAD");
}

// ---------------------------------------------------------------------------------------------
// Routing

TEST_F(HttpApiTest, UnknownRealtimePathIs404Json) {
  const HttpResponse r = send(request("GET", "/realtime/nope"));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(body_object(r).at("error"), "not_found");
}

TEST_F(HttpApiTest, UnknownPathWithoutStaticFilesIs404Json) {
  const HttpResponse r = send(request("GET", "/nope.html"));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(body_object(r).at("error"), "not_found");
}

TEST_F(HttpApiTest, UnknownPathWithAnotherMethodIs404Json) {
  const HttpResponse r = send(request("POST", "/nope"));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(body_object(r).at("error"), "not_found");
}

TEST_F(HttpApiTest, PathTraversalIsNotServed) {
  EXPECT_EQ(send(request("GET", "/../../etc/passwd")).status, 404);
}

TEST_F(HttpApiTest, MalformedTargetIs400) {
  const HttpResponse r = send(request("GET", "health"));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(body_object(r).at("error"), "bad_request");
}

TEST_F(HttpApiTest, GetToPublishIs405WithAllowPost) {
  const HttpResponse r = send(request("GET", "/realtime/publish", {{"x-plugin-secret", kKey}}));
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(header_of(r, "Allow"), "POST");
  EXPECT_TRUE(broker.published.empty());
}

TEST_F(HttpApiTest, PostToPresenceIs405WithAllowGet) {
  const HttpResponse r =
      send(request("POST", "/realtime/presence/room", {{"x-plugin-secret", kKey}}));
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(header_of(r, "Allow"), "GET, HEAD");
}

TEST_F(HttpApiTest, HeadIsAnsweredWhereGetIs) {
  // The body is built as for GET; the HTTP session leaves it out and keeps its length.
  EXPECT_EQ(send(request("HEAD", "/metrics")).status, 200);
  EXPECT_EQ(send(request("HEAD", "/realtime/presence/room", {{"x-plugin-secret", kKey}})).status,
            200);
  EXPECT_EQ(send(request("HEAD", "/realtime/nope")).status, 404);
  EXPECT_EQ(send(request("HEAD", "/realtime/publish", {{"x-plugin-secret", kKey}})).status, 405);
}

TEST_F(HttpApiTest, ConnectWithoutUpgradeIs426) {
  const HttpResponse r = send(request("GET", "/realtime/connect"));
  EXPECT_EQ(r.status, 426);
  EXPECT_EQ(header_of(r, "Upgrade"), "websocket");
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(body_object(r).at("error"), "upgrade_required");
}

TEST_F(HttpApiTest, ConnectWithQueryWithoutUpgradeIs426) {
  EXPECT_EQ(send(request("GET", "/realtime/connect?user=a&topics=x")).status, 426);
}

TEST_F(HttpApiTest, PostToConnectIs405) {
  const HttpResponse r = send(request("POST", "/realtime/connect"));
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(header_of(r, "Allow"), "GET");
}

TEST_F(HttpApiTest, IsConnectPathIgnoresTheQuery) {
  EXPECT_TRUE(HttpApi::is_connect_path("/realtime/connect"));
  EXPECT_TRUE(HttpApi::is_connect_path("/realtime/connect?user=a"));
  EXPECT_FALSE(HttpApi::is_connect_path("/realtime/connect/x"));
  EXPECT_FALSE(HttpApi::is_connect_path("/realtime/connected"));
  EXPECT_FALSE(HttpApi::is_connect_path("/health"));
}

// ---------------------------------------------------------------------------------------------
// Publish: auth

TEST_F(HttpApiTest, PublishAcceptsBearerKey) {
  EXPECT_EQ(publish(kOneEvent, {{"authorization", std::string("Bearer ") + kKey}}).status, 202);
}

TEST_F(HttpApiTest, PublishAcceptsBearerSchemeInAnyCase) {
  EXPECT_EQ(publish(kOneEvent, {{"authorization", std::string("bearer ") + kKey}}).status, 202);
}

TEST_F(HttpApiTest, PublishAcceptsXPluginSecret) {
  EXPECT_EQ(publish(kOneEvent, {{"x-plugin-secret", kKey}}).status, 202);
}

TEST_F(HttpApiTest, PublishAcceptsXInternalToken) {
  EXPECT_EQ(publish(kOneEvent, {{"x-internal-token", kKey}}).status, 202);
}

TEST_F(HttpApiTest, PublishWithoutKeyIs401AndPublishesNothing) {
  const HttpResponse r = publish(kOneEvent, {});
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(body_object(r).at("error"), "unauthorized");
  EXPECT_TRUE(broker.published.empty());
}

TEST_F(HttpApiTest, PublishWithWrongKeyIs401) {
  EXPECT_EQ(publish(kOneEvent, {{"x-plugin-secret", "wrong"}}).status, 401);
  EXPECT_EQ(publish(kOneEvent, {{"x-internal-token", "wrong"}}).status, 401);
  EXPECT_EQ(publish(kOneEvent, {{"authorization", "Bearer wrong"}}).status, 401);
  EXPECT_TRUE(broker.published.empty());
}

TEST_F(HttpApiTest, PublishWithAPrefixOfTheKeyIs401) {
  const std::string key = kKey;
  EXPECT_EQ(publish(kOneEvent, {{"x-plugin-secret", key.substr(0, key.size() - 1)}}).status, 401);
  EXPECT_EQ(publish(kOneEvent, {{"x-plugin-secret", key + "x"}}).status, 401);
}

TEST_F(HttpApiTest, PublishWithKeyButAnotherSchemeIs401) {
  EXPECT_EQ(publish(kOneEvent, {{"authorization", std::string("Basic ") + kKey}}).status, 401);
  EXPECT_EQ(publish(kOneEvent, {{"authorization", kKey}}).status, 401);
}

TEST_F(HttpApiTest, PublishWithOneWrongAndOneRightHeaderIsAccepted) {
  EXPECT_EQ(
      publish(kOneEvent, {{"authorization", "Bearer wrong"}, {"x-internal-token", kKey}}).status,
      202);
}

TEST_F(HttpApiTest, PublishFromLoopbackStillNeedsTheKeyOutsideDev) {
  HttpRequest r = request("POST", "/realtime/publish", {}, kOneEvent);
  r.from_loopback = true;
  EXPECT_EQ(send(r).status, 401);
}

TEST_F(HttpApiTest, DevWithoutKeyAllowsPublishFromLoopback) {
  config.dev = true;
  config.api_key.clear();
  HttpRequest r = request("POST", "/realtime/publish", {}, kOneEvent);
  r.from_loopback = true;
  EXPECT_EQ(send(r).status, 202);
}

TEST_F(HttpApiTest, DevWithoutKeyRefusesPublishFromElsewhere) {
  config.dev = true;
  config.api_key.clear();
  HttpRequest r = request("POST", "/realtime/publish", {}, kOneEvent);
  r.from_loopback = false;
  EXPECT_EQ(send(r).status, 401);
  EXPECT_TRUE(broker.published.empty());
}

TEST_F(HttpApiTest, DevWithKeyStillRequiresTheKeyFromLoopback) {
  config.dev = true;
  HttpRequest r = request("POST", "/realtime/publish", {}, kOneEvent);
  r.from_loopback = true;
  EXPECT_EQ(send(r).status, 401);
  r.headers = {{"x-plugin-secret", kKey}};
  EXPECT_EQ(send(r).status, 202);
}

TEST_F(HttpApiTest, WithoutKeyAndWithoutDevNothingIsAuthorized) {
  config.api_key.clear();
  HttpRequest r = request("POST", "/realtime/publish", {{"x-plugin-secret", ""}}, kOneEvent);
  r.from_loopback = true;
  EXPECT_EQ(send(r).status, 401);
}

// ---------------------------------------------------------------------------------------------
// Publish: outcome

TEST_F(HttpApiTest, PublishOneMessageIs202AndReachesTheBroker) {
  const HttpResponse r = publish(kOneEvent);
  EXPECT_EQ(r.status, 202);
  EXPECT_EQ(body_object(r).at("published"), 1);
  ASSERT_EQ(broker.published.size(), 1u);
  ASSERT_EQ(broker.published[0].size(), 1u);
  EXPECT_EQ(broker.published[0][0].topic, "channel:42");
  EXPECT_EQ(broker.published[0][0].event, "chat.message.created");
  EXPECT_EQ(json::parse(broker.published[0][0].data), json::parse(R"({"a":1})"));
}

TEST_F(HttpApiTest, PublishBatchIs202WithTheCountAndOneBrokerCallInOrder) {
  const HttpResponse r =
      publish(R"({"messages":[{"topic":"a","event":"e1"},{"topic":"b","event":"e2"},)"
              R"({"topic":"a","event":"e3"}]})");
  EXPECT_EQ(r.status, 202);
  EXPECT_EQ(body_object(r).at("published"), 3);
  ASSERT_EQ(broker.published.size(), 1u);
  ASSERT_EQ(broker.published[0].size(), 3u);
  EXPECT_EQ(broker.published[0][0].event, "e1");
  EXPECT_EQ(broker.published[0][1].event, "e2");
  EXPECT_EQ(broker.published[0][2].event, "e3");
}

TEST_F(HttpApiTest, PublishRespondsOnlyWhenTheBrokerHasAnswered) {
  broker.defer = true;
  int calls = 0;
  HttpResponse response;
  api.handle(request("POST", "/realtime/publish", {{"x-plugin-secret", kKey}}, kOneEvent),
             [&](HttpResponse r) {
               ++calls;
               response = std::move(r);
             });
  EXPECT_EQ(calls, 0);
  ASSERT_TRUE(broker.pending);
  broker.pending(PublishStatus::ok);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(response.status, 202);
}

TEST_F(HttpApiTest, PublishMissingFieldIs400NamingIt) {
  const HttpResponse r = publish(R"({"event":"e","data":{}})");
  EXPECT_EQ(r.status, 400);
  const json::object o = body_object(r);
  EXPECT_EQ(o.at("error"), "bad_request");
  EXPECT_THAT(std::string(o.at("message").as_string()), HasSubstr("topic"));
  EXPECT_TRUE(broker.published.empty());
}

TEST_F(HttpApiTest, PublishBadBatchEntryIs400NamingItsIndexAndField) {
  const HttpResponse r =
      publish(R"({"messages":[{"topic":"a","event":"e"},{"topic":"a","event":"bad event"}]})");
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(std::string(body_object(r).at("message").as_string()),
              HasSubstr("messages[1].event"));
  EXPECT_TRUE(broker.published.empty());
}

TEST_F(HttpApiTest, PublishNonJsonIs400) {
  const HttpResponse r = publish("topic=a");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(body_object(r).at("error"), "bad_request");
}

TEST_F(HttpApiTest, PublishTooManyMessagesIs413) {
  config.max_batch_messages = 2;
  const HttpResponse r =
      publish(R"({"messages":[{"topic":"a","event":"e"},{"topic":"a","event":"e"},)"
              R"({"topic":"a","event":"e"}]})");
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(body_object(r).at("error"), "message_too_large");
  EXPECT_TRUE(broker.published.empty());
}

TEST_F(HttpApiTest, PublishOversizedMessageIs413) {
  config.max_message_bytes = 256;
  const HttpResponse r =
      publish(R"({"topic":"a","event":"e","data":")" + std::string(1000, 'x') + "\"}");
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(body_object(r).at("error"), "message_too_large");
  EXPECT_TRUE(broker.published.empty());
}

TEST_F(HttpApiTest, PublishIs503WhenTheBrokerIsUnavailable) {
  broker.answer = PublishStatus::unavailable;
  const HttpResponse r = publish(kOneEvent);
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(body_object(r).at("error"), "unavailable");
  EXPECT_THAT(metrics_text(), HasSubstr("\nrealtime_messages_published_total 0\n"));
}

// ---------------------------------------------------------------------------------------------
// Presence

TEST_F(HttpApiTest, PresenceListsTheUsersOfTheTopic) {
  presence.users = {{"alice", PresenceStatus::dnd, 2, std::nullopt},
                    {"bob", PresenceStatus::away, 1, std::nullopt}};
  const HttpResponse r = presence_of("room:1");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_THAT(presence.queried, ::testing::ElementsAre("room:1"));
  const json::object o = body_object(r);
  EXPECT_EQ(o.at("topic"), "room:1");
  EXPECT_EQ(o.at("count"), 2);
  const json::array& users = o.at("users").as_array();
  ASSERT_EQ(users.size(), 2u);
  const json::object& alice = users[0].as_object();
  EXPECT_EQ(alice.at("user_id"), "alice");
  EXPECT_EQ(alice.at("status"), "dnd");
  EXPECT_EQ(alice.at("connections"), 2);
  EXPECT_TRUE(alice.at("last_seen").is_number());
  const json::object& bob = users[1].as_object();
  EXPECT_EQ(bob.at("user_id"), "bob");
  EXPECT_EQ(bob.at("status"), "away");
  EXPECT_EQ(bob.at("connections"), 1);
}

TEST_F(HttpApiTest, PresenceListsWhoIsTyping) {
  std::string asked;
  api.set_typing_lookup([&](std::string_view topic, auto done) {
    asked = topic;
    done({"alice", "bob"});
  });
  const json::object o = body_object(presence_of("room:1"));
  EXPECT_EQ(asked, "room:1");
  EXPECT_EQ(o.at("typing"), json::parse(R"(["alice","bob"])"));
}

TEST_F(HttpApiTest, PresenceShowsTheStoredLastSeenOfUsersWhoLeft) {
  presence.users = {{"carol", PresenceStatus::offline, 0, 1764262800123}};
  const json::object o = body_object(presence_of("room:1"));
  const json::object& carol = o.at("users").at(0).as_object();
  EXPECT_EQ(carol.at("status"), "offline");
  EXPECT_EQ(carol.at("connections"), 0);
  EXPECT_EQ(carol.at("last_seen"), 1764262800123);
}

TEST_F(HttpApiTest, PresenceOfAnEmptyTopicHasNoUsers) {
  const json::object o = body_object(presence_of("empty"));
  EXPECT_EQ(o.at("topic"), "empty");
  EXPECT_THAT(o.at("users").as_array(), IsEmpty());
  EXPECT_THAT(o.at("typing").as_array(), IsEmpty());
  EXPECT_EQ(o.at("count"), 0);
}

TEST_F(HttpApiTest, PresenceTopicMayContainSlashes) {
  EXPECT_EQ(presence_of("org/1/room").status, 200);
  EXPECT_THAT(presence.queried, ::testing::ElementsAre("org/1/room"));
}

TEST_F(HttpApiTest, PresenceTopicIsPercentDecoded) {
  EXPECT_EQ(presence_of("room%3A1").status, 200);
  EXPECT_THAT(presence.queried, ::testing::ElementsAre("room:1"));
}

TEST_F(HttpApiTest, PresenceIgnoresTheQueryString) {
  EXPECT_EQ(presence_of("room?x=1").status, 200);
  EXPECT_THAT(presence.queried, ::testing::ElementsAre("room"));
}

TEST_F(HttpApiTest, PresenceWithInvalidTopicIs400) {
  const HttpResponse r = presence_of("a%20b");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(body_object(r).at("error"), "bad_request");
  EXPECT_THAT(presence.queried, IsEmpty());
}

TEST_F(HttpApiTest, PresenceWithEmptyTopicIs400) { EXPECT_EQ(presence_of("").status, 400); }

TEST_F(HttpApiTest, PresenceWithoutKeyIs401) {
  const HttpResponse r = presence_of("room", {});
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(body_object(r).at("error"), "unauthorized");
  EXPECT_THAT(presence.queried, IsEmpty());
}

TEST_F(HttpApiTest, PresenceAcceptsEveryKeyHeader) {
  EXPECT_EQ(presence_of("room", {{"authorization", std::string("Bearer ") + kKey}}).status, 200);
  EXPECT_EQ(presence_of("room", {{"x-internal-token", kKey}}).status, 200);
  EXPECT_EQ(presence_of("room", {{"x-plugin-secret", kKey}}).status, 200);
}

TEST_F(HttpApiTest, DevWithoutKeyAllowsPresenceFromLoopbackOnly) {
  config.dev = true;
  config.api_key.clear();
  HttpRequest r = request("GET", "/realtime/presence/room");
  r.from_loopback = true;
  EXPECT_EQ(send(r).status, 200);
  r.from_loopback = false;
  EXPECT_EQ(send(r).status, 401);
}

// ---------------------------------------------------------------------------------------------
// CORS

TEST_F(HttpApiTest, AllowedOriginGetsCorsHeaders) {
  const HttpResponse r = send(request("GET", "/health", {{"origin", kOrigin}}));
  EXPECT_EQ(header_of(r, "Access-Control-Allow-Origin"), kOrigin);
  EXPECT_EQ(header_of(r, "Vary"), "Origin");
}

TEST_F(HttpApiTest, OtherOriginGetsNoCorsHeaders) {
  const HttpResponse r = send(request("GET", "/health", {{"origin", "https://evil.example"}}));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(header_of(r, "Access-Control-Allow-Origin"), std::nullopt);
}

TEST_F(HttpApiTest, NoOriginGetsNoCorsHeaders) {
  EXPECT_EQ(header_of(send(request("GET", "/health")), "Access-Control-Allow-Origin"),
            std::nullopt);
}

TEST_F(HttpApiTest, StarEchoesTheCallersOrigin) {
  config.cors_origins = {"*"};
  const HttpResponse r = send(request("GET", "/health", {{"origin", "https://any.example"}}));
  EXPECT_EQ(header_of(r, "Access-Control-Allow-Origin"), "https://any.example");
}

TEST_F(HttpApiTest, ErrorResponsesCarryCorsHeadersToo) {
  const HttpResponse r = publish(kOneEvent, {{"origin", kOrigin}});
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(header_of(r, "Access-Control-Allow-Origin"), kOrigin);
}

TEST_F(HttpApiTest, AcceptedPublishCarriesCorsHeaders) {
  const HttpResponse r = publish(kOneEvent, {{"origin", kOrigin}, {"x-plugin-secret", kKey}});
  EXPECT_EQ(r.status, 202);
  EXPECT_EQ(header_of(r, "Access-Control-Allow-Origin"), kOrigin);
}

TEST_F(HttpApiTest, PreflightFromAllowedOriginIs204) {
  const HttpResponse r =
      send(request("OPTIONS", "/realtime/publish",
                   {{"origin", kOrigin},
                    {"access-control-request-method", "POST"},
                    {"access-control-request-headers", "authorization, content-type"}}));
  EXPECT_EQ(r.status, 204);
  EXPECT_TRUE(r.body.empty());
  EXPECT_EQ(header_of(r, "Access-Control-Allow-Origin"), kOrigin);
  const std::string methods = header_of(r, "Access-Control-Allow-Methods").value_or("");
  EXPECT_THAT(methods, HasSubstr("POST"));
  EXPECT_THAT(methods, HasSubstr("GET"));
  const std::string headers = header_of(r, "Access-Control-Allow-Headers").value_or("");
  EXPECT_THAT(headers, HasSubstr("Authorization"));
  EXPECT_THAT(headers, HasSubstr("Content-Type"));
  EXPECT_THAT(headers, HasSubstr("X-Plugin-Secret"));
  EXPECT_THAT(headers, HasSubstr("X-Internal-Token"));
  EXPECT_TRUE(header_of(r, "Access-Control-Max-Age").has_value());
}

TEST_F(HttpApiTest, PreflightNeedsNoKey) {
  const HttpResponse r = send(request("OPTIONS", "/realtime/presence/room", {{"origin", kOrigin}}));
  EXPECT_EQ(r.status, 204);
}

TEST_F(HttpApiTest, PreflightFromOtherOriginIs403) {
  const HttpResponse r =
      send(request("OPTIONS", "/realtime/publish", {{"origin", "https://evil.example"}}));
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(header_of(r, "Access-Control-Allow-Origin"), std::nullopt);
  EXPECT_EQ(body_object(r).at("error"), "forbidden");
}

TEST_F(HttpApiTest, PreflightWithoutOriginIs403) {
  EXPECT_EQ(send(request("OPTIONS", "/realtime/publish")).status, 403);
}

TEST_F(HttpApiTest, DevAllowsPreflightFromAnyOrigin) {
  config.dev = true;
  config.cors_origins.clear();
  const HttpResponse r =
      send(request("OPTIONS", "/realtime/publish", {{"origin", "http://localhost:5173"}}));
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(header_of(r, "Access-Control-Allow-Origin"), "http://localhost:5173");
}

// ---------------------------------------------------------------------------------------------
// upgrade(): origin and identity

TEST_F(HttpApiTest, UpgradeFromWrongOriginIs403) {
  const HttpResponse r = refused("/realtime/connect", {{"origin", "https://evil.example"}});
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(body_object(r).at("error"), "forbidden");
}

TEST_F(HttpApiTest, UpgradeFromWrongOriginIs403EvenWithAUser) {
  config.dev = false;
  EXPECT_EQ(refused("/realtime/connect?user=alice", {{"origin", "https://evil.example"}}).status,
            403);
}

TEST_F(HttpApiTest, UpgradeWithoutDevAndWithoutTokenIs401) {
  const HttpResponse r = refused("/realtime/connect?user=alice", {{"origin", kOrigin}});
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(body_object(r).at("error"), "unauthorized");
}

TEST_F(HttpApiTest, UpgradeWithoutDevAndWithoutOriginIs401) {
  EXPECT_EQ(refused("/realtime/connect").status, 401);
}

TEST_F(HttpApiTest, RefusedUpgradeTakesNoConnectionSlot) {
  refused("/realtime/connect", {{"origin", kOrigin}});
  refused("/realtime/connect", {{"origin", "https://evil.example"}});
  EXPECT_EQ(metrics.connections(), 0);
  EXPECT_THAT(metrics_text(), HasSubstr("\nrealtime_upgrades_rejected_total 2\n"));
}

TEST_F(HttpApiTest, DevUpgradeTakesTheUserFromTheQuery) {
  config.dev = true;
  EXPECT_EQ(granted("/realtime/connect?user=alice").subject.user_id, "alice");
}

TEST_F(HttpApiTest, DevUpgradeAcceptsAnyOrigin) {
  config.dev = true;
  EXPECT_EQ(
      granted("/realtime/connect?user=alice", {{"origin", "https://evil.example"}}).subject.user_id,
      "alice");
}

TEST_F(HttpApiTest, DevUpgradeDecodesTheUser) {
  config.dev = true;
  EXPECT_EQ(granted("/realtime/connect?user=alice%40example.com").subject.user_id,
            "alice@example.com");
}

TEST_F(HttpApiTest, DevUpgradeWithoutUserGetsARandomAnonymousId) {
  config.dev = true;
  const std::string first = granted("/realtime/connect").subject.user_id;
  const std::string second = granted("/realtime/connect").subject.user_id;
  EXPECT_THAT(first, StartsWith("anon-"));
  EXPECT_THAT(second, StartsWith("anon-"));
  EXPECT_NE(first, second);
}

TEST_F(HttpApiTest, DevUpgradeWithEmptyUserGetsARandomAnonymousId) {
  config.dev = true;
  EXPECT_THAT(granted("/realtime/connect?user=").subject.user_id, StartsWith("anon-"));
}

TEST_F(HttpApiTest, RandomAnonymousIdsAreValidUserNames) {
  config.dev = true;
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) {
    const std::string id = granted("/realtime/connect").subject.user_id;
    EXPECT_TRUE(seen.insert(id).second) << "repeated " << id;
    for (char ch : id) {
      EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(ch)) || ch == '-') << id;
    }
  }
}

TEST_F(HttpApiTest, DevUpgradeWithBadUserNameIs400) {
  config.dev = true;
  const HttpResponse r = refused("/realtime/connect?user=al%20ice");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(body_object(r).at("error"), "bad_request");
  EXPECT_EQ(metrics.connections(), 0);
}

TEST_F(HttpApiTest, DevUpgradeWithUserOf255BytesIsAccepted) {
  config.dev = true;
  const std::string name(255, 'u');
  EXPECT_EQ(granted("/realtime/connect?user=" + name).subject.user_id, name);
}

TEST_F(HttpApiTest, DevUpgradeWithUserOf256BytesIs400) {
  config.dev = true;
  EXPECT_EQ(refused("/realtime/connect?user=" + std::string(256, 'u')).status, 400);
}

// ---------------------------------------------------------------------------------------------
// upgrade(): topics and subprotocol

TEST_F(HttpApiTest, UpgradeParsesTheTopicsList) {
  config.dev = true;
  EXPECT_THAT(granted("/realtime/connect?user=a&topics=channel:1,channel:2,org/3").topics,
              ::testing::ElementsAre("channel:1", "channel:2", "org/3"));
}

TEST_F(HttpApiTest, UpgradeTopicsListSkipsEmptyItems) {
  config.dev = true;
  EXPECT_THAT(granted("/realtime/connect?topics=,a,,b,").topics, ::testing::ElementsAre("a", "b"));
}

TEST_F(HttpApiTest, UpgradeWithoutTopicsHasNone) {
  config.dev = true;
  EXPECT_THAT(granted("/realtime/connect?user=a").topics, IsEmpty());
}

TEST_F(HttpApiTest, UpgradeTopicsAreDecoded) {
  config.dev = true;
  EXPECT_THAT(granted("/realtime/connect?topics=room%3A1").topics,
              ::testing::ElementsAre("room:1"));
}

TEST_F(HttpApiTest, UpgradeWithMoreTopicsThanTheSubscriptionLimitIsRefused) {
  config.dev = true;
  config.max_subscriptions = 2;
  const HttpResponse r = refused("/realtime/connect?topics=a,b,c");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(body_object(r).at("error"), "too_many_subscriptions");
  EXPECT_EQ(metrics.connections(), 0);
}

TEST_F(HttpApiTest, UpgradeDetectsTheSubprotocolAlone) {
  config.dev = true;
  EXPECT_TRUE(
      granted("/realtime/connect", {{"sec-websocket-protocol", "nself-realtime.v1"}}).subprotocol);
}

TEST_F(HttpApiTest, UpgradeDetectsTheSubprotocolInACommaList) {
  config.dev = true;
  EXPECT_TRUE(granted("/realtime/connect",
                      {{"sec-websocket-protocol", "graphql-ws, nself-realtime.v1 ,other"}})
                  .subprotocol);
  EXPECT_TRUE(granted("/realtime/connect", {{"sec-websocket-protocol", "a,nself-realtime.v1"}})
                  .subprotocol);
}

TEST_F(HttpApiTest, UpgradeWithoutTheSubprotocolHeaderHasNone) {
  config.dev = true;
  EXPECT_FALSE(granted("/realtime/connect").subprotocol);
}

TEST_F(HttpApiTest, UpgradeIgnoresOtherSubprotocols) {
  config.dev = true;
  EXPECT_FALSE(
      granted("/realtime/connect", {{"sec-websocket-protocol", "nself-realtime.v2"}}).subprotocol);
  EXPECT_FALSE(
      granted("/realtime/connect", {{"sec-websocket-protocol", "nself-realtime.v1x, graphql-ws"}})
          .subprotocol);
  EXPECT_FALSE(
      granted("/realtime/connect", {{"sec-websocket-protocol", "nself-realtime"}}).subprotocol);
}

// ---------------------------------------------------------------------------------------------
// upgrade(): connection limit

TEST_F(HttpApiTest, GrantedUpgradeCarriesTheHandshakeAcceptKey) {
  config.dev = true;
  EXPECT_EQ(granted("/realtime/connect").accept_key, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST_F(HttpApiTest, UpgradeWithAnotherWebSocketVersionIs426) {
  config.dev = true;
  const HttpResponse r = refused("/realtime/connect", {{"sec-websocket-version", "8"}});
  EXPECT_EQ(r.status, 426);
  EXPECT_EQ(header_of(r, "Sec-WebSocket-Version"), "13");
}

TEST_F(HttpApiTest, UpgradeWithAMalformedKeyIs400) {
  config.dev = true;
  EXPECT_EQ(refused("/realtime/connect", {{"sec-websocket-key", "short"}}).status, 400);
  EXPECT_EQ(
      refused("/realtime/connect", {{"sec-websocket-key", "!!!!!!!!!!!!!!!!!!!!!!=="}}).status,
      400);
}

TEST_F(HttpApiTest, GrantedUpgradeTakesAConnectionSlot) {
  config.dev = true;
  granted("/realtime/connect");
  EXPECT_EQ(metrics.connections(), 1);
}

TEST_F(HttpApiTest, UpgradeAboveTheConnectionLimitIs503) {
  config.dev = true;
  config.max_connections = 2;
  granted("/realtime/connect?user=a");
  granted("/realtime/connect?user=b");
  const HttpResponse r = refused("/realtime/connect?user=c");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(body_object(r).at("error"), "unavailable");
  EXPECT_EQ(metrics.connections(), 2);
}

TEST_F(HttpApiTest, ReleasedSlotCanBeTakenAgain) {
  config.dev = true;
  config.max_connections = 1;
  granted("/realtime/connect");
  refused("/realtime/connect");
  metrics.release_connection();
  granted("/realtime/connect");
  EXPECT_EQ(metrics.connections(), 1);
}

TEST(MetricsTest, TryAcquireConnectionStopsAtTheLimit) {
  Metrics metrics(1);
  EXPECT_TRUE(metrics.try_acquire_connection(2));
  EXPECT_TRUE(metrics.try_acquire_connection(2));
  EXPECT_FALSE(metrics.try_acquire_connection(2));
  EXPECT_EQ(metrics.connections(), 2);
  metrics.release_connection();
  EXPECT_TRUE(metrics.try_acquire_connection(2));
}

}  // namespace
}  // namespace realtime
