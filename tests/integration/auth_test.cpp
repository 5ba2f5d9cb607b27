// Production mode end to end: Hasura JWT -> connection token -> connect -> topic rules.
#include <gtest/gtest.h>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <memory>
#include <string>
#include <thread>

#include "auth/jwt.hpp"
#include "support/http_client.hpp"
#include "support/server_process.hpp"
#include "support/test_helpers.hpp"
#include "support/ws_client.hpp"

namespace json = boost::json;

namespace realtime::testing {
namespace {

constexpr const char* kOrigin = "https://app.example";
constexpr const char* kKey = "integration-api-key";
constexpr const char* kHasuraSecret = "integration-tests-hs256-secret-0123456789";
constexpr const char* kTokenSecret = "integration-connection-token-secret-0123";

std::int64_t Now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A Hasura JWT as the auth service would mint it.
std::string HasuraJwt(const std::string& user, const std::string& default_role,
                      std::int64_t exp_offset = 3600) {
  json::object claims;
  claims["sub"] = user;
  claims["iat"] = Now() - 10;
  claims["exp"] = Now() + exp_offset;
  json::object hasura;
  hasura["x-hasura-user-id"] = user;
  hasura["x-hasura-default-role"] = default_role;
  hasura["x-hasura-allowed-roles"] = json::array{"user", "admin"};
  claims["https://hasura.io/jwt/claims"] = std::move(hasura);
  return sign_hs256(claims, kHasuraSecret);
}

class AuthTest : public ::testing::Test {
 protected:
  AuthTest()
      : server_(
            [] {
              auto args = ServerProcess::ProductionArgs(kOrigin, kKey);
              args.insert(args.end(), {"--token-secret", kTokenSecret});
              return args;
            }(),
            ServerProcess::ProductionEnv()) {}

  // POST /realtime/token as a trusted service (the server key).
  std::string ServiceToken(const std::string& user, const std::string& role,
                           const std::string& topics_json = "[]") {
    auto r = HttpPostJson(
        server_.port(), "/realtime/token",
        R"({"user_id":")" + user + R"(","role":")" + role + R"(","topics":)" + topics_json + "}",
        {{"X-Plugin-Secret", kKey}});
    EXPECT_EQ(r.status, 200) << r.body;
    return std::string(r.Json().at("token").as_string());
  }

  std::variant<std::unique_ptr<WsClient>, HttpResponse> ConnectWithToken(
      const std::string& token, const std::string& extra_query = {}) {
    WsConnectOptions options;
    options.target = "/realtime/connect?token=" + token + extra_query;
    options.headers = {{"Origin", kOrigin}};
    return WsClient::TryConnect(server_.port(), options);
  }

  std::unique_ptr<WsClient> MustConnect(const std::string& token) {
    auto result = ConnectWithToken(token);
    if (auto* refused = std::get_if<HttpResponse>(&result)) {
      ADD_FAILURE() << "refused: " << refused->status << ' ' << refused->body;
      return nullptr;
    }
    auto client = std::move(std::get<std::unique_ptr<WsClient>>(result));
    EXPECT_EQ(StringField(client->ReadJson(), "type"), "welcome");
    return client;
  }

  static json::object SubscribeReply(WsClient& client, std::string_view topic) {
    client.Send(R"({"type":"subscribe","topic":")" + std::string(topic) + R"(","id":"s"})");
    return client.ReadSkippingPresence();
  }

  ServerProcess server_;
};

TEST_F(AuthTest, HasuraJwtIsExchangedForATokenThatConnectsAsItsUser) {
  auto r = HttpPostJson(
      server_.port(), "/realtime/token", "",
      {{"Authorization", "Bearer " + HasuraJwt("alice", "user")}, {"X-Hasura-Role", "admin"}});
  ASSERT_EQ(r.status, 200) << r.body;
  const auto body = r.Json().as_object();
  EXPECT_EQ(body.at("user_id"), "alice");
  EXPECT_EQ(body.at("role"), "admin");  // requested and allowed
  EXPECT_EQ(body.at("expires_in"), 60);

  WsConnectOptions options;
  options.target = "/realtime/connect";
  options.headers = {{"Origin", kOrigin},
                     {"Authorization", "Bearer " + std::string(body.at("token").as_string())}};
  auto client = WsClient::Connect(server_.port(), options);
  const auto welcome = client->ReadJson();
  EXPECT_EQ(StringField(welcome, "type"), "welcome");
  EXPECT_EQ(StringField(welcome, "user_id"), "alice");
}

TEST_F(AuthTest, TokenEndpointNamesWhyAJwtIsRefused) {
  auto expired = HttpPostJson(server_.port(), "/realtime/token", "",
                              {{"Authorization", "Bearer " + HasuraJwt("alice", "user", -60)}});
  EXPECT_EQ(expired.status, 401);
  EXPECT_EQ(expired.Json().at("reason"), "expired");

  std::string forged = HasuraJwt("alice", "user");
  // The first signature character carries no padding bits, so changing it changes the bytes.
  forged[forged.rfind('.') + 1] = forged[forged.rfind('.') + 1] == 'A' ? 'B' : 'A';
  auto bad =
      HttpPostJson(server_.port(), "/realtime/token", "", {{"Authorization", "Bearer " + forged}});
  EXPECT_EQ(bad.status, 401);
  EXPECT_EQ(bad.Json().at("reason"), "bad_signature");

  auto missing = HttpPostJson(server_.port(), "/realtime/token", R"({"user_id":"alice"})");
  EXPECT_EQ(missing.status, 401);
  EXPECT_EQ(missing.Json().at("reason"), "missing_token");
}

TEST_F(AuthTest, ConnectWithoutTokenIsRefusedBeforeUpgrade) {
  WsConnectOptions options;
  options.target = "/realtime/connect?user=alice";  // ?user= means nothing outside --dev
  options.headers = {{"Origin", kOrigin}};
  auto result = WsClient::TryConnect(server_.port(), options);
  ASSERT_TRUE(std::holds_alternative<HttpResponse>(result));
  const auto& refused = std::get<HttpResponse>(result);
  EXPECT_EQ(refused.status, 401);
  EXPECT_EQ(refused.Json().at("reason"), "missing_token");
}

TEST_F(AuthTest, ATokenOpensOneConnectionOnly) {
  const std::string token = ServiceToken("alice", "user");
  auto first = MustConnect(token);
  ASSERT_NE(first, nullptr);
  auto replay = ConnectWithToken(token);
  ASSERT_TRUE(std::holds_alternative<HttpResponse>(replay));
  EXPECT_EQ(std::get<HttpResponse>(replay).status, 401);
  EXPECT_EQ(std::get<HttpResponse>(replay).Json().at("reason"), "replayed");
}

TEST_F(AuthTest, ExpiredConnectionTokenIsRefused) {
  json::object claims;
  claims["iss"] = "nself-realtime";
  claims["sub"] = "alice";
  claims["role"] = "user";
  claims["jti"] = "expired-token-id";
  claims["iat"] = Now() - 600;
  claims["exp"] = Now() - 300;
  auto result = ConnectWithToken(sign_hs256(claims, kTokenSecret));
  ASSERT_TRUE(std::holds_alternative<HttpResponse>(result));
  EXPECT_EQ(std::get<HttpResponse>(result).status, 401);
  EXPECT_EQ(std::get<HttpResponse>(result).Json().at("reason"), "expired");
}

TEST_F(AuthTest, RulesDecideEachSubscribe) {
  auto alice = MustConnect(ServiceToken("alice", "user"));
  ASSERT_NE(alice, nullptr);
  EXPECT_EQ(StringField(SubscribeReply(*alice, "channel:42"), "type"), "subscribed");
  EXPECT_EQ(StringField(SubscribeReply(*alice, "user:alice"), "type"), "subscribed");
  for (const char* denied : {"user:bob", "misc", "channel:42:secret"}) {
    const auto reply = SubscribeReply(*alice, denied);
    EXPECT_EQ(StringField(reply, "type"), "error") << denied;
    EXPECT_EQ(StringField(reply, "code"), "forbidden") << denied;
  }
  // ?topics= goes through the same rules.
  auto result = ConnectWithToken(ServiceToken("bob", "user"), "&topics=channel:1,user:alice");
  ASSERT_TRUE(std::holds_alternative<std::unique_ptr<WsClient>>(result));
  auto& bob = *std::get<std::unique_ptr<WsClient>>(result);
  EXPECT_EQ(StringField(bob.ReadJson(), "type"), "welcome");
  EXPECT_EQ(StringField(bob.ReadSkippingPresence(), "type"), "subscribed");
  const auto denied = bob.ReadSkippingPresence();
  EXPECT_EQ(StringField(denied, "code"), "forbidden");
}

TEST_F(AuthTest, ServiceGrantsOpenTopicsTheRulesClose) {
  auto agent = MustConnect(ServiceToken("agent-7", "user", R"(["support:*"])"));
  ASSERT_NE(agent, nullptr);
  EXPECT_EQ(StringField(SubscribeReply(*agent, "support:99"), "type"), "subscribed");
  EXPECT_EQ(StringField(SubscribeReply(*agent, "billing:1"), "code"), "forbidden");
}

TEST_F(AuthTest, DeniedClientPublishReachesNobody) {
  auto admin = MustConnect(ServiceToken("root", "admin"));
  auto alice = MustConnect(ServiceToken("alice", "user"));
  ASSERT_NE(admin, nullptr);
  ASSERT_NE(alice, nullptr);
  Subscribe(*admin, "channel:42");
  Subscribe(*alice, "channel:42");

  alice->Send(
      R"({"type":"publish","topic":"channel:42","event":"chat.message.created","data":"spoof","id":9})");
  const auto reply = alice->ReadSkippingPresence();
  EXPECT_EQ(StringField(reply, "code"), "forbidden");

  // Anything alice's publish had put on the topic would arrive before this marker.
  ASSERT_EQ(
      Publish(server_.port(), "channel:42", "marker", "1", {{"X-Plugin-Secret", kKey}}).status,
      202);
  EXPECT_EQ(ExpectEvent(*admin, "channel:42", "marker"), json::value(1));
  EXPECT_EQ(ExpectEvent(*alice, "channel:42", "marker"), json::value(1));
}

TEST_F(AuthTest, PublishNeedsTheServerKey) {
  EXPECT_EQ(Publish(server_.port(), "channel:42", "e", "1").status, 401);
  EXPECT_EQ(Publish(server_.port(), "channel:42", "e", "1", {{"X-Plugin-Secret", "wrong"}}).status,
            401);
  EXPECT_EQ(Publish(server_.port(), "channel:42", "e", "1",
                    {{"Authorization", "Bearer " + HasuraJwt("root", "admin")}})
                .status,
            401);
  EXPECT_EQ(Publish(server_.port(), "channel:42", "e", "1", {{"X-Internal-Token", kKey}}).status,
            202);
}

TEST_F(AuthTest, PresenceReadsFollowTheRulesForUsers) {
  auto alice = MustConnect(ServiceToken("alice", "user"));
  ASSERT_NE(alice, nullptr);
  Subscribe(*alice, "channel:42");

  const std::string user_jwt = HasuraJwt("bob", "user");
  auto allowed = HttpGet(server_.port(), "/realtime/presence/channel:42",
                         {{"Authorization", "Bearer " + user_jwt}});
  ASSERT_EQ(allowed.status, 200) << allowed.body;
  EXPECT_EQ(allowed.Json().at("count"), 1);

  auto denied =
      HttpGet(server_.port(), "/realtime/presence/misc", {{"Authorization", "Bearer " + user_jwt}});
  EXPECT_EQ(denied.status, 403);
  EXPECT_EQ(HttpGet(server_.port(), "/realtime/presence/channel:42").status, 401);
  EXPECT_EQ(HttpGet(server_.port(), "/realtime/presence/misc", {{"X-Plugin-Secret", kKey}}).status,
            200);
}

// ---------------------------------------------------------------------------------------------
// Connections expire with the identity behind them, unless they refresh.

TEST_F(AuthTest, ConnectionExpiresWithItsJwtAndIsClosedWith4001) {
  const std::int64_t exp = Now() + 3;
  auto r = HttpPostJson(server_.port(), "/realtime/token", "",
                        {{"Authorization", "Bearer " + HasuraJwt("alice", "user", 3)}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json().at("connection_expires_at"), json::value(exp * 1000));
  auto result = ConnectWithToken(std::string(r.Json().at("token").as_string()));
  ASSERT_TRUE(std::holds_alternative<std::unique_ptr<WsClient>>(result));
  auto& client = std::get<std::unique_ptr<WsClient>>(result);
  const json::object welcome = client->ReadJson();
  EXPECT_EQ(welcome.at("expires_at"), json::value(exp * 1000)) << json::serialize(welcome);
  // Closed within a heartbeat sweep (at most 5 s) of the expiry.
  const CloseResult closed = client->WaitForClose(std::chrono::seconds(15));
  EXPECT_TRUE(closed.close_frame);
  EXPECT_EQ(closed.code, 4001);
  EXPECT_GE(Now(), exp);
}

TEST_F(AuthTest, RefreshMovesTheExpiryAndTheConnectionStays) {
  auto first = HttpPostJson(server_.port(), "/realtime/token", "",
                            {{"Authorization", "Bearer " + HasuraJwt("alice", "user", 3)}});
  auto client = MustConnect(std::string(first.Json().at("token").as_string()));
  ASSERT_NE(client, nullptr);
  auto fresh = HttpPostJson(server_.port(), "/realtime/token", "",
                            {{"Authorization", "Bearer " + HasuraJwt("alice", "user", 3600)}});
  client->Send(R"({"type":"refresh","id":"r1","token":")" +
               std::string(fresh.Json().at("token").as_string()) + R"("})");
  const json::object refreshed = client->ReadSkippingPresence();
  EXPECT_EQ(StringField(refreshed, "type"), "refreshed") << json::serialize(refreshed);
  EXPECT_EQ(StringField(refreshed, "id"), "r1");
  ASSERT_TRUE(refreshed.at("expires_at").is_int64());
  EXPECT_NEAR(static_cast<double>(refreshed.at("expires_at").as_int64()),
              static_cast<double>((Now() + 3600) * 1000), 5000);
  // Past the first expiry and a sweep: still open.
  std::this_thread::sleep_for(std::chrono::seconds(9));
  EXPECT_NO_THROW(ReadUntilPong(*client, "still-open"));
}

TEST_F(AuthTest, RefreshWithAnotherUsersOrAnInvalidTokenIsRefused) {
  auto client = MustConnect(ServiceToken("alice", "user"));
  ASSERT_NE(client, nullptr);
  client->Send(R"({"type":"refresh","id":"r1","token":")" + ServiceToken("bob", "user") + R"("})");
  const json::object other = client->ReadSkippingPresence();
  EXPECT_EQ(StringField(other, "code"), "forbidden") << json::serialize(other);
  client->Send(R"({"type":"refresh","id":"r2","token":"not-a-token"})");
  const json::object garbage = client->ReadSkippingPresence();
  EXPECT_EQ(StringField(garbage, "code"), "unauthorized") << json::serialize(garbage);
  // A token is single use, for a refresh too.
  const std::string once = ServiceToken("alice", "user");
  client->Send(R"({"type":"refresh","id":"r3","token":")" + once + R"("})");
  EXPECT_EQ(StringField(client->ReadSkippingPresence(), "type"), "refreshed");
  client->Send(R"({"type":"refresh","id":"r4","token":")" + once + R"("})");
  EXPECT_EQ(StringField(client->ReadSkippingPresence(), "code"), "unauthorized");
}

// The shard's index of a user's connections views the session's user id: a refresh must keep
// it, and the index must move on when the first tab closes. A user id longer than a short
// string's inline buffer lives on the heap, where a moved buffer would dangle (ASan sees it).
TEST_F(AuthTest, ServerCommandsFindEveryTabOfAUserAfterARefreshAndAClosedTab) {
  const std::string user = "a-user-id-longer-than-sso-0123456789";
  auto first = MustConnect(ServiceToken(user, "user"));
  auto second = MustConnect(ServiceToken(user, "user"));
  auto third = MustConnect(ServiceToken(user, "user"));
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  ASSERT_NE(third, nullptr);
  for (auto* tab : {first.get(), second.get()}) {
    tab->Send(R"({"type":"refresh","id":"r1","token":")" + ServiceToken(user, "user") + R"("})");
    EXPECT_EQ(StringField(tab->ReadSkippingPresence(), "type"), "refreshed");
  }
  first->Close();
  // A new topic each time: `local` counts the connections it was added to.
  int probe = 0;
  ASSERT_TRUE(WaitUntil(
      [&] {
        const auto r = HttpPostJson(server_.port(), "/realtime/subscribe",
                                    R"({"user_id":")" + user + R"(","topic":"room:probe-)" +
                                        std::to_string(++probe) + "\"}",
                                    {{"X-Plugin-Secret", kKey}});
        return r.status == 200 && r.Json().at("local") == json::value(2);
      },
      std::chrono::seconds(5)));
  const auto r = HttpPostJson(server_.port(), "/realtime/disconnect",
                              R"({"user_id":")" + user + R"(","reason":"banned"})",
                              {{"X-Plugin-Secret", kKey}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json().at("local"), json::value(2)) << r.body;
  EXPECT_EQ(second->WaitForClose().code, 4003);
  EXPECT_EQ(third->WaitForClose().code, 4003);
}

TEST_F(AuthTest, AServiceMayMintATokenWithOrWithoutAConnectionExpiry) {
  const std::int64_t at = (Now() + 600) * 1000;
  auto r = HttpPostJson(server_.port(), "/realtime/token",
                        R"({"user_id":"svc-user","expires_at":)" + std::to_string(at) + "}",
                        {{"X-Plugin-Secret", kKey}});
  ASSERT_EQ(r.status, 200) << r.body;
  auto with = ConnectWithToken(std::string(r.Json().at("token").as_string()));
  ASSERT_TRUE(std::holds_alternative<std::unique_ptr<WsClient>>(with));
  EXPECT_EQ(std::get<std::unique_ptr<WsClient>>(with)->ReadJson().at("expires_at"),
            json::value(at));
  auto without = MustConnect(ServiceToken("svc-user", "user"));
  ASSERT_NE(without, nullptr);
  auto past =
      HttpPostJson(server_.port(), "/realtime/token", R"({"user_id":"svc-user","expires_at":1000})",
                   {{"X-Plugin-Secret", kKey}});
  EXPECT_EQ(past.status, 400) << past.body;
}

TEST_F(AuthTest, ProductionStartWarnsThatTheBuiltInRulesOpenEveryChannelToEveryUser) {
  ASSERT_TRUE(WaitUntil(
      [&] { return server_.Log().find("lets a whole role subscribe") != std::string::npos; },
      std::chrono::seconds(5)))
      << server_.Log();
  EXPECT_NE(server_.Log().find("\"channel:*\""), std::string::npos) << server_.Log();
}

}  // namespace
}  // namespace realtime::testing
