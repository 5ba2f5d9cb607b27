// Bad client input gets its documented reply or close code, and the server keeps serving
// everyone else afterwards.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <string>

#include "support/server_process.hpp"
#include "support/test_helpers.hpp"

namespace realtime::testing {
namespace {

namespace json = boost::json;

constexpr int kMaxMessageBytes = 1024;

class BadInputTest : public ::testing::Test {
 protected:
  std::uint16_t port() const { return server_.port(); }

  // Reads the reply to a bad frame: an error with `code` (and `id` when the frame had one).
  static void ExpectError(WsClient& client, std::string_view code,
                          const json::value* id = nullptr) {
    const json::object reply = client.ReadSkippingPresence();
    EXPECT_EQ(StringField(reply, "type"), "error") << json::serialize(reply);
    EXPECT_EQ(StringField(reply, "code"), code) << json::serialize(reply);
    EXPECT_FALSE(StringField(reply, "message").empty()) << json::serialize(reply);
    if (id != nullptr) {
      ASSERT_TRUE(reply.contains("id")) << json::serialize(reply);
      EXPECT_EQ(reply.at("id"), *id);
    }
  }

  // An error never closes the connection: the same client still gets a pong.
  static void ExpectStillConnected(WsClient& client) {
    client.Send(R"({"type":"ping","id":"alive"})");
    const json::object pong = client.ReadSkippingPresence();
    EXPECT_EQ(StringField(pong, "type"), "pong") << json::serialize(pong);
    EXPECT_EQ(StringField(pong, "id"), "alive");
  }

  ServerProcess server_{ServerProcess::DevArgs(
      {"--max-message-bytes", std::to_string(kMaxMessageBytes), "--max-subscriptions", "3"})};
};

TEST_F(BadInputTest, NonJsonTextGetsBadRequest) {
  auto client = ConnectUser(port(), "alice");
  client->Send("this is not json {");
  ASSERT_NO_FATAL_FAILURE(ExpectError(*client, "bad_request"));
  ASSERT_NO_FATAL_FAILURE(ExpectStillConnected(*client));
  ASSERT_NO_FATAL_FAILURE(ExpectFreshClientWorks(port()));
}

TEST_F(BadInputTest, JsonThatIsNotAnObjectGetsBadRequest) {
  auto client = ConnectUser(port(), "alice");
  client->Send(R"(["subscribe","a"])");
  ASSERT_NO_FATAL_FAILURE(ExpectError(*client, "bad_request"));
  ASSERT_NO_FATAL_FAILURE(ExpectStillConnected(*client));
}

TEST_F(BadInputTest, BinaryFrameGetsBadRequest) {
  auto client = ConnectUser(port(), "alice");
  client->SendBinary(std::string("\x00\x01{\"type\":\"ping\"}", 17));
  ASSERT_NO_FATAL_FAILURE(ExpectError(*client, "bad_request"));
  ASSERT_NO_FATAL_FAILURE(ExpectStillConnected(*client));
  ASSERT_NO_FATAL_FAILURE(ExpectFreshClientWorks(port()));
}

TEST_F(BadInputTest, UnknownTypeGetsBadRequestWithId) {
  auto client = ConnectUser(port(), "alice");
  client->Send(R"({"type":"teleport","id":7})");
  const json::value id(7);
  ASSERT_NO_FATAL_FAILURE(ExpectError(*client, "bad_request", &id));
  ASSERT_NO_FATAL_FAILURE(ExpectStillConnected(*client));
  ASSERT_NO_FATAL_FAILURE(ExpectFreshClientWorks(port()));
}

TEST_F(BadInputTest, MissingTypeGetsBadRequestWithId) {
  auto client = ConnectUser(port(), "alice");
  client->Send(R"({"topic":"a","id":"no-type"})");
  const json::value id("no-type");
  ASSERT_NO_FATAL_FAILURE(ExpectError(*client, "bad_request", &id));
  ASSERT_NO_FATAL_FAILURE(ExpectStillConnected(*client));
}

TEST_F(BadInputTest, InvalidTopicsGetBadRequest) {
  auto client = ConnectUser(port(), "alice");
  const std::string too_long(201, 'a');
  for (const std::string& topic :
       {std::string("has space"), std::string(""), std::string("emoji-\xF0\x9F\x98\x80"),
        std::string("a,b"), too_long}) {
    SCOPED_TRACE("topic \"" + topic + "\"");
    json::object frame{{"type", "subscribe"}, {"topic", topic}, {"id", "bad-topic"}};
    client->Send(json::serialize(frame));
    const json::value id("bad-topic");
    ASSERT_NO_FATAL_FAILURE(ExpectError(*client, "bad_request", &id));
  }
  // The longest valid topic, with every allowed kind of character, is accepted.
  const std::string longest = "Az09_.:@/-" + std::string(190, 'x');
  ASSERT_NO_THROW(Subscribe(*client, longest));
  ASSERT_NO_FATAL_FAILURE(ExpectStillConnected(*client));
  ASSERT_NO_FATAL_FAILURE(ExpectFreshClientWorks(port()));
}

TEST_F(BadInputTest, TopicThatIsNotAStringGetsBadRequest) {
  auto client = ConnectUser(port(), "alice");
  client->Send(R"({"type":"subscribe","topic":42,"id":1})");
  const json::value id(1);
  ASSERT_NO_FATAL_FAILURE(ExpectError(*client, "bad_request", &id));
  ASSERT_NO_FATAL_FAILURE(ExpectStillConnected(*client));
}

TEST_F(BadInputTest, InvalidPresenceStatusGetsBadRequest) {
  auto client = ConnectUser(port(), "alice");
  // offline is a status the server derives, never one a client may set.
  for (const char* status : {"offline", "busy"}) {
    SCOPED_TRACE(status);
    client->Send(std::string(R"({"type":"presence","status":")") + status + R"(","id":9})");
    const json::value id(9);
    ASSERT_NO_FATAL_FAILURE(ExpectError(*client, "bad_request", &id));
  }
  ASSERT_NO_FATAL_FAILURE(ExpectStillConnected(*client));
}

TEST_F(BadInputTest, FrameOfExactlyMaxMessageBytesIsAccepted) {
  auto client = ConnectUser(port(), "alice");
  std::string frame = R"({"type":"ping","id":"max","pad":")";
  frame += std::string(kMaxMessageBytes - frame.size() - 2, 'x');
  frame += "\"}";
  ASSERT_EQ(frame.size(), static_cast<std::size_t>(kMaxMessageBytes));
  client->Send(frame);
  EXPECT_EQ(StringField(client->ReadSkippingPresence(), "type"), "pong");
}

TEST_F(BadInputTest, OversizeFrameIsClosedWith1009) {
  auto client = ConnectUser(port(), "alice");
  std::string frame = R"({"type":"ping","id":"big","pad":")";
  frame += std::string(kMaxMessageBytes, 'x');
  frame += "\"}";
  client->Send(frame);
  const CloseResult closed = client->WaitForClose();
  ASSERT_TRUE(closed.close_frame) << "connection ended without a close frame: " << closed.error;
  EXPECT_EQ(closed.code, 1009);
  ASSERT_NO_FATAL_FAILURE(ExpectFreshClientWorks(port()));
}

TEST_F(BadInputTest, SubscriptionAboveMaxGetsTooManySubscriptions) {
  auto client = ConnectUser(port(), "alice", {"t1", "t2", "t3"});
  client->Send(R"({"type":"subscribe","topic":"t4","id":"fourth"})");
  const json::value id("fourth");
  ASSERT_NO_FATAL_FAILURE(ExpectError(*client, "too_many_subscriptions", &id));
  ASSERT_NO_FATAL_FAILURE(ExpectStillConnected(*client));

  // The refused topic is not delivered; the others still are.
  ASSERT_EQ(Publish(port(), "t4", "refused", "0").status, 202);
  ASSERT_EQ(Publish(port(), "t3", "kept", "3").status, 202);
  EXPECT_EQ(ExpectEvent(*client, "t3", "kept"), json::value(3));

  // Leaving one topic makes room for another.
  client->Send(R"({"type":"unsubscribe","topic":"t1"})");
  ASSERT_EQ(StringField(client->ReadSkippingPresence(), "type"), "unsubscribed");
  ASSERT_NO_THROW(Subscribe(*client, "t4"));
  ASSERT_NO_FATAL_FAILURE(ExpectFreshClientWorks(port()));
}

TEST_F(BadInputTest, ClientPublishWithInvalidEventGetsBadRequest) {
  auto client = ConnectUser(port(), "alice");
  client->Send(R"({"type":"publish","topic":"a","event":"bad event","data":1,"id":3})");
  const json::value id(3);
  ASSERT_NO_FATAL_FAILURE(ExpectError(*client, "bad_request", &id));
  ASSERT_NO_FATAL_FAILURE(ExpectStillConnected(*client));
}

TEST_F(BadInputTest, InvalidUserIdIsRefusedBeforeUpgrade) {
  WsConnectOptions options;
  options.target = "/realtime/connect?user=has%20space";
  auto result = WsClient::TryConnect(port(), options);
  ASSERT_TRUE(std::holds_alternative<HttpResponse>(result)) << "the upgrade was accepted";
  EXPECT_EQ(std::get<HttpResponse>(result).status, 400);
  ASSERT_NO_FATAL_FAILURE(ExpectFreshClientWorks(port()));
}

// Without --dev the Origin is checked before anything else, and a client needs a connection
// token (minted here by the server key for a user) to get in.
class ProductionUpgradeTest : public ::testing::Test {
 protected:
  static constexpr const char* kKey = "integration-test-key";
  static constexpr const char* kAllowedOrigin = "https://app.example";

  std::uint16_t port() const { return server_.port(); }

  std::string MintToken(std::string_view user) {
    const HttpResponse res = HttpPostJson(
        port(), "/realtime/token", R"({"user_id":")" + std::string(user) + R"(","role":"user"})",
        {{"X-Plugin-Secret", kKey}});
    if (res.status != 200) {
      throw std::runtime_error("POST /realtime/token: " + std::to_string(res.status) + " " +
                               res.body);
    }
    return StringField(res.Json().as_object(), "token");
  }

  // An upgrade request from `origin` (none if empty), with `token` if not empty.
  static WsConnectOptions Request(const std::string& origin, const std::string& token = {}) {
    WsConnectOptions options;
    options.target = "/realtime/connect";
    if (!token.empty()) options.target += "?token=" + token;
    if (!origin.empty()) options.headers.emplace_back("Origin", origin);
    return options;
  }

  static int RefusalStatus(std::uint16_t port, const WsConnectOptions& options) {
    auto result = WsClient::TryConnect(port, options);
    if (!std::holds_alternative<HttpResponse>(result)) return 101;
    return std::get<HttpResponse>(result).status;
  }

  ServerProcess server_{ServerProcess::ProductionArgs(kAllowedOrigin, kKey),
                        ServerProcess::ProductionEnv()};
};

TEST_F(ProductionUpgradeTest, WrongOriginGets403BeforeUpgrade) {
  auto result = WsClient::TryConnect(port(), Request("https://evil.example"));
  ASSERT_TRUE(std::holds_alternative<HttpResponse>(result)) << "the upgrade was accepted";
  const HttpResponse& refused = std::get<HttpResponse>(result);
  EXPECT_EQ(refused.status, 403);
  EXPECT_EQ(refused.Json().as_object().at("error"), json::value("forbidden")) << refused.body;

  // The server goes on serving: a client from an allowed origin, with a token, gets in and
  // receives what is published.
  WsConnectOptions fresh = Request(kAllowedOrigin, MintToken("alice"));
  fresh.target += "&topics=channel:1";
  auto client = WsClient::Connect(port(), fresh);
  ASSERT_EQ(StringField(client->ReadJson(), "type"), "welcome");
  ASSERT_EQ(StringField(client->ReadSkippingPresence(), "type"), "subscribed");
  const HttpResponse published =
      Publish(port(), "channel:1", "e", "1", {{"X-Plugin-Secret", kKey}});
  ASSERT_EQ(published.status, 202) << published.body;
  EXPECT_EQ(ExpectEvent(*client, "channel:1", "e"), json::value(1));
}

TEST_F(ProductionUpgradeTest, WrongOriginGets403EvenWithAValidToken) {
  EXPECT_EQ(RefusalStatus(port(), Request("https://evil.example", MintToken("alice"))), 403);
}

TEST_F(ProductionUpgradeTest, AllowedOriginWithoutTokenGets401) {
  EXPECT_EQ(RefusalStatus(port(), Request(kAllowedOrigin)), 401);
}

TEST_F(ProductionUpgradeTest, NoOriginWithoutTokenGets401) {
  EXPECT_EQ(RefusalStatus(port(), Request("")), 401);
}

TEST_F(ProductionUpgradeTest, AnonymousUserParameterIsNotAnIdentity) {
  WsConnectOptions options = Request(kAllowedOrigin);
  options.target += "?user=alice";
  EXPECT_EQ(RefusalStatus(port(), options), 401);
}

}  // namespace
}  // namespace realtime::testing
