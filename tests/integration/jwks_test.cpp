// HASURA_GRAPHQL_JWT_SECRET={"jwk_url":...} end to end: the real binary fetches the key set from a
// local HTTPS server (a test CA made by openssl), verifies tokens at POST /realtime/token by kid,
// follows key rotation, survives the key server going down, and refuses to start without a set.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>

#include <sys/wait.h>

#include <chrono>
#include <csignal>
#include <future>
#include <optional>
#include <string>

#include "signing_keys.hpp"
#include "support/http_client.hpp"
#include "support/jwks_server.hpp"
#include "support/run_process.hpp"
#include "support/server_process.hpp"
#include "support/test_helpers.hpp"
#include "support/ws_client.hpp"

namespace json = boost::json;

namespace realtime::testing {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

constexpr const char* kOrigin = "https://app.example";
constexpr const char* kKey = "integration-api-key";

std::int64_t Now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The identity provider's keys, made once for the whole file.
struct Keys {
  SigningKey first{KeyKind::rsa2048};
  SigningKey second{KeyKind::rsa2048};
  SigningKey ec{KeyKind::p256};
};
const Keys& keys() {
  static const Keys k;
  return k;
}

std::string JwtSecret(const std::string& url) {
  return json::serialize(json::object{{"jwk_url", url}});
}

class JwksTest : public ::testing::Test {
 protected:
  void StartServer(const std::string& url, bool with_ca = true) {
    ServerProcess::Env env = {{"HASURA_GRAPHQL_JWT_SECRET", JwtSecret(url)},
                              {"DATABASE_URL", "none"}};
    if (with_ca) env.emplace_back("REALTIME_JWKS_CA_FILE", idp.CaFile());
    server.emplace(ServerProcess::ProductionArgs(kOrigin, kKey), env);
  }

  // POST /realtime/token with a Hasura JWT.
  HttpResponse TokenFor(const std::string& jwt) {
    return HttpPostJson(server->port(), "/realtime/token", "{}",
                        {{"Authorization", "Bearer " + jwt}});
  }
  HttpResponse TokenSignedBy(const SigningKey& key, const std::string& alg,
                             std::optional<std::string> kid) {
    return TokenFor(key.Sign(HasuraClaims("alice", Now()), alg, std::move(kid)));
  }
  static std::string Reason(const HttpResponse& r) {
    return r.status == 401 ? std::string(r.Json().at("reason").as_string()) : "";
  }

  json::value Jwks() { return HttpGet(server->port(), "/health").Json().at("jwks"); }

  JwksServer idp;
  std::optional<ServerProcess> server;
};

TEST_F(JwksTest, TokensVerifyByKidAndEverythingElseIsRefused) {
  idp.Serve(JwkSetJson({keys().first.Jwk("rsa-1", "RS256", "sig"), keys().ec.Jwk("ec-1")}),
            "public, max-age=3600");
  StartServer(idp.Url());
  EXPECT_EQ(idp.Requests(), 1);

  const HttpResponse ok = TokenSignedBy(keys().first, "RS256", "rsa-1");
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(ok.Json().at("user_id"), "alice");
  // The connection token it gives opens a WebSocket, as with a static key.
  WsConnectOptions options;
  options.target = "/realtime/connect?token=" + std::string(ok.Json().at("token").as_string());
  options.headers = {{"Origin", kOrigin}};
  auto connected = WsClient::TryConnect(server->port(), options);
  EXPECT_TRUE(std::holds_alternative<std::unique_ptr<WsClient>>(connected));

  EXPECT_EQ(TokenSignedBy(keys().ec, "ES256", "ec-1").status, 200);

  // The key says RS256: the same key's RS384 token is refused before its signature.
  EXPECT_EQ(Reason(TokenSignedBy(keys().first, "RS384", "rsa-1")), "wrong_algorithm");
  // HS/RS confusion: an HMAC keyed with the public key, naming the RSA key.
  EXPECT_EQ(Reason(TokenFor(HmacToken(R"({"alg":"HS256","typ":"JWT","kid":"rsa-1"})",
                                      HasuraClaims("mallory", Now()), keys().first.PublicPem()))),
            "wrong_algorithm");
  EXPECT_EQ(Reason(TokenSignedBy(keys().ec, "ES384", "ec-1")), "wrong_algorithm");
  // Another key's signature under a known kid.
  EXPECT_EQ(Reason(TokenSignedBy(keys().second, "RS256", "rsa-1")), "bad_signature");

  // An unknown kid makes one early fetch; the next unknown kid within 10 s makes none.
  EXPECT_EQ(Reason(TokenSignedBy(keys().second, "RS256", "who")), "unknown_key");
  EXPECT_EQ(idp.Requests(), 2);
  EXPECT_EQ(Reason(TokenSignedBy(keys().second, "RS256", "who-else")), "unknown_key");
  EXPECT_EQ(idp.Requests(), 2);

  const json::value jwks = Jwks();
  EXPECT_EQ(jwks.at("status"), "ok");
  EXPECT_EQ(jwks.at("keys"), 2);
  EXPECT_FALSE(jwks.as_object().contains("last_error"));
}

TEST_F(JwksTest, RotationPicksUpTheNewKidAndDropsTheOldOneAfterTheRefresh) {
  // max-age=1 is raised to the 5 s minimum.
  idp.Serve(JwkSetJson({keys().first.Jwk("k1")}), "max-age=1");
  StartServer(idp.Url());
  ASSERT_EQ(TokenSignedBy(keys().first, "RS256", "k1").status, 200);

  // The provider publishes k2 and signs with it at once: the first token waits for the refetch
  // its unknown kid causes, and passes.
  idp.Serve(JwkSetJson({keys().first.Jwk("k1"), keys().second.Jwk("k2")}), "max-age=1");
  const HttpResponse fresh = TokenSignedBy(keys().second, "RS256", "k2");
  EXPECT_EQ(fresh.status, 200) << fresh.body;
  EXPECT_EQ(idp.Requests(), 2);

  // Then retires k1: gone once the set is refreshed (every 5 s here), with no token's help.
  idp.Serve(JwkSetJson({keys().second.Jwk("k2")}), "max-age=1");
  const int before = idp.Requests();
  ASSERT_TRUE(WaitUntil([&] { return idp.Requests() > before; }, 20s));
  EXPECT_TRUE(WaitUntil([&] { return Jwks().at("keys") == 1; }, 5s));
  EXPECT_EQ(Reason(TokenSignedBy(keys().first, "RS256", "k1")), "unknown_key");
  EXPECT_EQ(TokenSignedBy(keys().second, "RS256", "k2").status, 200);
}

TEST_F(JwksTest, WhileTheKeyServerIsDownTheLastSetServesAndHealthSaysStale) {
  idp.Serve(JwkSetJson({keys().first.Jwk("k1")}), "max-age=1");
  StartServer(idp.Url());
  ASSERT_EQ(TokenSignedBy(keys().first, "RS256", "k1").status, 200);

  idp.Stop();
  ASSERT_TRUE(WaitUntil([&] { return Jwks().at("status") == "stale"; }, 20s)) << Jwks();
  const HttpResponse health = HttpGet(server->port(), "/health");
  EXPECT_EQ(health.status, 200);  // a stale set still verifies: the node stays healthy
  EXPECT_EQ(health.Json().at("status"), "degraded");
  const json::value jwks = health.Json().at("jwks");
  EXPECT_EQ(jwks.at("keys"), 1);
  EXPECT_THAT(std::string(jwks.at("last_error").as_string()), HasSubstr("Connection refused"));
  EXPECT_LT(jwks.at("last_success").to_number<std::int64_t>(),
            jwks.at("last_attempt").to_number<std::int64_t>());
  EXPECT_EQ(TokenSignedBy(keys().first, "RS256", "k1").status, 200);
  EXPECT_THAT(server->Log(), HasSubstr("the last good set stays in use"));

  // Back: the retries (1 s doubling, jittered) find it.
  idp.Restart();
  EXPECT_TRUE(WaitUntil([&] { return Jwks().at("status") == "ok"; }, 30s)) << Jwks();
  EXPECT_EQ(TokenSignedBy(keys().first, "RS256", "k1").status, 200);
}

TEST_F(JwksTest, SigtermWhileATokenWaitsForAHangingKeyServerExitsCleanly) {
  idp.Serve(JwkSetJson({keys().first.Jwk("k1")}), "max-age=3600");
  StartServer(idp.Url());
  idp.Hold(true);
  // An unknown kid: the token request waits for a refetch that never gets its answer.
  auto pending = std::async(std::launch::async, [&] {
    try {
      return TokenSignedBy(keys().second, "RS256", "k2").status;
    } catch (const std::exception&) {
      return 0;  // the connection closed under it: fine, the server is going away
    }
  });
  ASSERT_TRUE(WaitUntil([&] { return idp.Requests() == 2; }, 10s));
  server->Signal(SIGTERM);
  const auto status = server->WaitForExit(15s);
  ASSERT_TRUE(status.has_value()) << "still running 15 s after SIGTERM";
  EXPECT_TRUE(WIFEXITED(*status)) << server->Log();
  EXPECT_EQ(WEXITSTATUS(*status), 0) << server->Log();
  EXPECT_NE(pending.get(), 200);
}

TEST_F(JwksTest, PlainHttpWorksWithAWarning) {
  JwksServer plain(false);
  plain.Serve(JwkSetJson({keys().ec.Jwk("ec")}));
  StartServer(plain.Url(), false);
  EXPECT_EQ(TokenSignedBy(keys().ec, "ES256", "ec").status, 200);
  EXPECT_THAT(server->Log(), HasSubstr("is plain http"));
}

// ---------------------------------------------------------------------------------------------
// No key set at start: exit 2 with the reason.

class JwksStartupTest : public ::testing::Test {
 protected:
  ProcessResult Run(const std::string& url, bool with_ca = true) {
    std::vector<std::pair<std::string, std::string>> env = {
        {"HASURA_GRAPHQL_JWT_SECRET", JwtSecret(url)}, {"DATABASE_URL", "none"}};
    if (with_ca) env.emplace_back("REALTIME_JWKS_CA_FILE", idp.CaFile());
    return RunProcess({ServerBinary(), "--host", "127.0.0.1", "--port", "0", "--cors-origin",
                       kOrigin, "--api-key", kKey, "--jwks-startup-wait-seconds", "1"},
                      env, "/tmp", 60s);
  }

  JwksServer idp;
};

TEST_F(JwksStartupTest, AnEndpointThatRefusesIsExit2) {
  idp.Stop();
  const ProcessResult r = Run(idp.Url());
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("no key set could be fetched from jwk_url"));
  EXPECT_THAT(r.output, HasSubstr("Connection refused"));
  EXPECT_THAT(r.output, ::testing::Not(HasSubstr("listening on")));
}

TEST_F(JwksStartupTest, ACertificateFromAnUntrustedCaIsExit2) {
  idp.Serve(JwkSetJson({keys().ec.Jwk("ec")}));
  const ProcessResult r = Run(idp.Url(), false);  // the system's CAs don't know the test CA
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("certificate verify failed"));
}

TEST_F(JwksStartupTest, AHostNameTheCertificateDoesNotNameIsExit2) {
  idp.Serve(JwkSetJson({keys().ec.Jwk("ec")}));
  // The same server, by an address its certificate does not name (it names localhost).
  const ProcessResult r = Run("https://127.0.0.1:" + std::to_string(idp.port()) + "/jwks");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("certificate verify failed"));
}

TEST_F(JwksStartupTest, ADocumentThatIsNoKeySetIsExit2) {
  idp.Serve("<html>maintenance</html>");
  ProcessResult r = Run(idp.Url());
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("not a usable key set"));
  idp.Serve(R"({"keys":[{"kty":"oct","k":"c2VjcmV0"}]})");
  r = Run(idp.Url());
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("no usable signing key"));
  idp.Serve("{}", "", "", 404);
  r = Run(idp.Url());
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("HTTP 404"));
}

}  // namespace
}  // namespace realtime::testing
