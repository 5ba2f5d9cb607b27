// HttpApi with a jwk_url configuration: POST /realtime/token waits for an unknown kid's refetch,
// and /health shows the key set's state.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "auth/authorizer.hpp"
#include "auth/security.hpp"
#include "server/fake_engine.hpp"
#include "server/http_api.hpp"
#include "signing_keys.hpp"

namespace realtime {
namespace {

namespace json = boost::json;
using ::testing::HasSubstr;
using testing::HasuraClaims;
using testing::JwkSetJson;
using testing::KeyKind;
using testing::SigningKey;

// Keeps a refetch's callback until the test finishes the "fetch".
class ScriptedSource final : public JwksSource {
 public:
  std::shared_ptr<const JwkSet> keys() const override { return set; }
  void refetch_for_unknown_kid(std::function<void()> done) override {
    ++refetches;
    pending.push_back(std::move(done));
  }
  JwksStatus status() const override { return state; }

  void finish_fetch(std::shared_ptr<const JwkSet> next) {
    if (next) set = std::move(next);
    auto waiting = std::move(pending);
    pending.clear();
    for (auto& done : waiting) {
      if (done) done();
    }
  }

  std::shared_ptr<const JwkSet> set;
  std::vector<std::function<void()>> pending;
  int refetches = 0;
  JwksStatus state;
};

std::shared_ptr<const JwkSet> set_of(std::vector<json::object> keys) {
  return std::make_shared<const JwkSet>(std::get<JwkSet>(parse_jwk_set(JwkSetJson(keys))));
}

const SigningKey& rsa() {
  static const SigningKey key(KeyKind::rsa2048);
  return key;
}

class HttpApiJwksTest : public ::testing::Test {
 protected:
  HttpApiJwksTest() {
    config.cors_origins = {"https://app.example"};
    config.api_key = "k";
    config.threads = 1;
    source->set = set_of({rsa().Jwk("old")});
  }

  HttpRequest token_request(const std::string& kid) {
    HttpRequest r;
    r.method = "POST";
    r.target = "/realtime/token";
    r.headers = {{"authorization",
                  "Bearer " + rsa().Sign(HasuraClaims("bob", unix_seconds()), "RS256", kid)}};
    return r;
  }

  Config config;
  testing::FakeBroker broker;
  testing::FakePresenceStore presence;
  Metrics metrics{1};
  std::shared_ptr<ScriptedSource> source = std::make_shared<ScriptedSource>();
  Security security{parse_hasura_jwt_secret(R"({"jwk_url":"https://idp.example/jwks"})"),
                    std::string(32, 's'), 60, std::make_unique<MemoryUsedTokens>(), source};
  Authorizer authorizer{AccessRules::defaults(), 1000};
  HttpApi api{config, security, authorizer, broker, presence, metrics, ""};
  std::vector<HttpResponse> responses;
  Respond collect = [this](HttpResponse r) { responses.push_back(std::move(r)); };
};

TEST_F(HttpApiJwksTest, AKnownKidGetsATokenAtOnce) {
  api.handle(token_request("old"), collect);
  ASSERT_EQ(responses.size(), 1u);
  EXPECT_EQ(responses[0].status, 200) << responses[0].body;
  EXPECT_EQ(source->refetches, 0);
}

TEST_F(HttpApiJwksTest, ANewKidIsAnsweredAfterTheRefetchBringsIt) {
  api.handle(token_request("new"), collect);
  EXPECT_TRUE(responses.empty());  // waits for the key server, on no thread of ours
  EXPECT_EQ(source->refetches, 1);
  source->finish_fetch(set_of({rsa().Jwk("old"), rsa().Jwk("new")}));
  ASSERT_EQ(responses.size(), 1u);
  EXPECT_EQ(responses[0].status, 200) << responses[0].body;
  EXPECT_EQ(json::parse(responses[0].body).at("user_id"), "bob");
}

TEST_F(HttpApiJwksTest, AKidStillUnknownAfterTheRefetchIs401UnknownKey) {
  api.handle(token_request("nope"), collect);
  source->finish_fetch(nullptr);
  ASSERT_EQ(responses.size(), 1u);
  EXPECT_EQ(responses[0].status, 401);
  EXPECT_EQ(json::parse(responses[0].body).at("reason"), "unknown_key");
}

TEST_F(HttpApiJwksTest, HealthShowsTheKeySetAndStaysServingWhenStale) {
  source->state.ok = false;
  source->state.keys = 1;
  source->state.last_error = "connect: Connection refused";
  HttpRequest r;
  r.method = "GET";
  r.target = "/health";
  api.handle(r, collect);
  ASSERT_EQ(responses.size(), 1u);
  EXPECT_EQ(responses[0].status, 200);  // the last good set still verifies
  const json::value body = json::parse(responses[0].body);
  EXPECT_EQ(body.at("status"), "degraded");
  EXPECT_EQ(body.at("jwks").at("status"), "stale");
  EXPECT_EQ(body.at("jwks").at("keys"), 1);
  EXPECT_EQ(body.at("jwks").at("last_error"), "connect: Connection refused");
}

TEST(HttpApiNoJwksTest, HealthHasNoJwksFieldWithoutJwkUrl) {
  Config config;
  testing::FakeBroker broker;
  testing::FakePresenceStore presence;
  Metrics metrics{1};
  Security security{std::nullopt, std::string(32, 's'), 60, std::make_unique<MemoryUsedTokens>()};
  Authorizer authorizer{AccessRules::defaults(), 1000};
  HttpApi api{config, security, authorizer, broker, presence, metrics, ""};
  HttpRequest r;
  r.method = "GET";
  r.target = "/health";
  std::string body;
  api.handle(r, [&](HttpResponse response) { body = response.body; });
  EXPECT_THAT(body, ::testing::Not(HasSubstr("jwks")));
}

}  // namespace
}  // namespace realtime
