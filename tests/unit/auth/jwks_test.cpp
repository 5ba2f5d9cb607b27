#include "auth/jwks.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>

#include <random>

#include "auth/hasura_jwt.hpp"
#include "signing_keys.hpp"

namespace realtime {
namespace {

namespace json = boost::json;
using ::testing::HasSubstr;
using testing::HasuraClaims;
using testing::HmacToken;
using testing::JwkSetJson;
using testing::KeyKind;
using testing::SigningKey;

constexpr std::int64_t kNow = 1'800'000'000;

// One key of each kind, made once: RSA key generation is slow under sanitizers.
struct Keys {
  SigningKey rsa{KeyKind::rsa2048};
  SigningKey rsa_other{KeyKind::rsa2048};
  SigningKey p256{KeyKind::p256};
  SigningKey p384{KeyKind::p384};
};
const Keys& keys() {
  static const Keys k;
  return k;
}

JwkSet parsed(const std::string& document) {
  auto result = parse_jwk_set(document);
  if (auto* error = std::get_if<std::string>(&result)) {
    ADD_FAILURE() << "refused: " << *error;
    return {};
  }
  return std::get<JwkSet>(result);
}

std::string refused(const std::string& document) {
  auto result = parse_jwk_set(document);
  if (auto* error = std::get_if<std::string>(&result)) return *error;
  ADD_FAILURE() << "accepted: " << document;
  return {};
}

// ---------------------------------------------------------------------------------------------
// Parsing

TEST(JwkSetTest, RsaAndEcKeysBecomeTheSamePublicKeys) {
  const JwkSet set = parsed(JwkSetJson({keys().rsa.Jwk("r1", "RS256", "sig"), keys().p256.Jwk("e1"),
                                        keys().p384.Jwk("e2", "ES384")}));
  ASSERT_EQ(set.keys.size(), 3u);
  EXPECT_TRUE(set.skipped.empty());
  EXPECT_EQ(set.keys[0].kid, "r1");
  EXPECT_EQ(set.keys[0].type, JwkType::rsa);
  EXPECT_EQ(set.keys[0].alg, JwtAlgorithm::RS256);
  EXPECT_EQ(set.keys[0].bits, 2048);
  EXPECT_EQ(set.keys[1].type, JwkType::ec_p256);
  EXPECT_EQ(set.keys[1].alg, std::nullopt);
  EXPECT_EQ(set.keys[2].type, JwkType::ec_p384);
  // The numbers went through JSON and back into OpenSSL: the keys are the ones we made.
  EXPECT_EQ(set.keys[0].pem, keys().rsa.PublicPem());
  EXPECT_EQ(set.keys[1].pem, keys().p256.PublicPem());
  EXPECT_EQ(set.keys[2].pem, keys().p384.PublicPem());
}

TEST(JwkSetTest, PaddedBase64AndExtraMembersAreTolerated) {
  json::object jwk = keys().rsa.Jwk("r1");
  jwk["e"] = std::string(jwk["e"].as_string()) + "=";  // "AQAB" has none; any '=' is stripped
  jwk["x5t"] = "ignored";
  jwk["key_ops"] = json::array{"verify"};
  const JwkSet set = parsed(JwkSetJson({jwk}));
  ASSERT_EQ(set.keys.size(), 1u);
  EXPECT_EQ(set.keys[0].pem, keys().rsa.PublicPem());
}

TEST(JwkSetTest, UnusableKeysAreSkippedWithAReasonAndTheRestKept) {
  SigningKey small(KeyKind::rsa1024);
  auto with = [](json::object o, std::string_view name, json::value v) {
    o[name] = std::move(v);
    return o;
  };
  auto without = [](json::object o, std::string_view name) {
    o.erase(name);
    return o;
  };
  const json::object rsa = keys().rsa.Jwk("r");
  const json::object ec = keys().p256.Jwk("e");
  const std::vector<json::object> bad = {
      json::object{{"kty", "oct"}, {"kid", "hmac"}, {"k", "c2VjcmV0"}},
      json::object{{"kty", "OKP"}, {"crv", "Ed25519"}, {"x", "AAAA"}},
      with(rsa, "use", "enc"),
      with(rsa, "alg", "RSA-OAEP"),
      with(rsa, "alg", "PS256"),
      with(rsa, "alg", "HS256"),
      with(rsa, "alg", "ES256"),  // the alg of another key type
      with(ec, "alg", "ES384"),   // P-256 signs ES256 only
      with(ec, "crv", "P-521"),
      small.Jwk("small"),
      without(rsa, "n"),
      with(rsa, "e", "!!!"),
      with(rsa, "e", "AQ"),  // e = 1
      with(rsa, "n", 42),
      with(rsa, "kid", 7),
      with(ec, "x", "AAAA"),                                // too short for P-256
      with(ec, "y", json::string(ec.at("x").as_string())),  // not on the curve
      without(ec, "kty"),
  };
  std::vector<json::object> document = bad;
  document.push_back(keys().p384.Jwk("good"));
  json::array entries;
  for (const auto& k : document) entries.push_back(k);
  entries.push_back("not an object");
  const JwkSet set = parsed(json::serialize(json::object{{"keys", entries}}));
  ASSERT_EQ(set.keys.size(), 1u);
  EXPECT_EQ(set.keys[0].kid, "good");
  EXPECT_EQ(set.skipped.size(), bad.size() + 1);
  const std::string all = [&] {
    std::string s;
    for (const auto& r : set.skipped) s += r + '\n';
    return s;
  }();
  EXPECT_THAT(all, HasSubstr("kty \"oct\" is not supported"));
  EXPECT_THAT(all, HasSubstr("not a signature key"));
  EXPECT_THAT(all, HasSubstr("1024 bits"));
  EXPECT_THAT(all, HasSubstr("EC curve is not P-256 or P-384"));
  EXPECT_THAT(all, HasSubstr("\"alg\" does not fit the key's type"));
  EXPECT_THAT(all, HasSubstr("not a valid public key"));
  EXPECT_THAT(all, HasSubstr("key 0 (kid \"hmac\")"));
}

TEST(JwkSetTest, DocumentsThatAreNoKeySetAreRefused) {
  EXPECT_THAT(refused(""), HasSubstr("not JSON"));
  EXPECT_THAT(refused("<html>502 Bad Gateway</html>"), HasSubstr("not JSON"));
  EXPECT_THAT(refused("[]"), HasSubstr("not a JWK Set"));
  EXPECT_THAT(refused("{}"), HasSubstr("not a JWK Set"));
  EXPECT_THAT(refused(R"({"keys":{}})"), HasSubstr("not a JWK Set"));
  // A single JWK is not a set.
  EXPECT_THAT(refused(json::serialize(keys().rsa.Jwk("r"))), HasSubstr("not a JWK Set"));
  EXPECT_THAT(refused(R"({"keys":[]})"), HasSubstr("no usable signing key"));
  EXPECT_THAT(refused(R"({"keys":[{"kty":"oct","k":"c2VjcmV0"}]})"),
              HasSubstr("no usable signing key (RSA 2048+ or EC P-256/P-384); key 0: kty"));
}

TEST(JwkSetTest, AtMost64KeysAreRead) {
  std::vector<json::object> many(70, keys().p256.Jwk("same"));
  const JwkSet set = parsed(JwkSetJson(many));
  EXPECT_EQ(set.keys.size(), 64u);
  EXPECT_THAT(set.skipped.back(), HasSubstr("keys after the first 64 are ignored"));
}

// Untrusted input: every prefix and a thousand random byte flips of a real document, and
// deep nesting, must come back as a set or an error, never a crash (ASan runs this too).
TEST(JwkSetTest, GarbageNeverCrashes) {
  const std::string good = JwkSetJson({keys().rsa.Jwk("r1"), keys().p256.Jwk("e1")});
  for (std::size_t n = 0; n < good.size(); ++n) (void)parse_jwk_set(good.substr(0, n));
  std::mt19937 rng(7);
  for (int i = 0; i < 1000; ++i) {
    std::string mutated = good;
    for (int flips = 1 + static_cast<int>(rng() % 4); flips > 0; --flips) {
      mutated[rng() % mutated.size()] = static_cast<char>(rng() % 256);
    }
    (void)parse_jwk_set(mutated);
  }
  (void)parse_jwk_set(std::string(100000, '[') + std::string(100000, ']'));
  (void)parse_jwk_set(R"({"keys":[{"kty":"RSA","n":")" + std::string(100000, 'A') +
                      R"(","e":"AQAB"}]})");
  (void)parse_jwk_set(std::string("{\"keys\":[\0]}", 12));
  SUCCEED();
}

// ---------------------------------------------------------------------------------------------
// Key selection

TEST(SelectKeysTest, TheKidPicksTheKey) {
  const JwkSet set = parsed(JwkSetJson({keys().rsa.Jwk("a"), keys().rsa_other.Jwk("b")}));
  auto picked = select_keys(set, JwtAlgorithm::RS256, "b");
  ASSERT_TRUE(std::holds_alternative<std::vector<const Jwk*>>(picked));
  const auto& list = std::get<std::vector<const Jwk*>>(picked);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]->kid, "b");
}

TEST(SelectKeysTest, AnUnknownKidIsUnknownKey) {
  const JwkSet set = parsed(JwkSetJson({keys().rsa.Jwk("a")}));
  auto picked = select_keys(set, JwtAlgorithm::RS256, "zzz");
  ASSERT_TRUE(std::holds_alternative<AuthError>(picked));
  EXPECT_EQ(std::get<AuthError>(picked).reason, AuthFailure::unknown_key);
}

TEST(SelectKeysTest, AKeyOfAnotherAlgorithmIsWrongAlgorithm) {
  const JwkSet set = parsed(JwkSetJson(
      {keys().rsa.Jwk("rs256-only", "RS256"), keys().p256.Jwk("p256"), keys().rsa.Jwk("any-rs")}));
  for (auto [alg, kid] :
       std::vector<std::pair<JwtAlgorithm, std::string>>{{JwtAlgorithm::RS384, "rs256-only"},
                                                         {JwtAlgorithm::ES384, "p256"},
                                                         {JwtAlgorithm::RS256, "p256"},
                                                         {JwtAlgorithm::ES256, "any-rs"},
                                                         {JwtAlgorithm::HS256, "any-rs"}}) {
    auto picked = select_keys(set, alg, kid);
    ASSERT_TRUE(std::holds_alternative<AuthError>(picked)) << kid;
    EXPECT_EQ(std::get<AuthError>(picked).reason, AuthFailure::wrong_algorithm) << kid;
  }
  EXPECT_TRUE(std::holds_alternative<std::vector<const Jwk*>>(
      select_keys(set, JwtAlgorithm::RS512, "any-rs")));
}

TEST(SelectKeysTest, WithoutAKidEveryKeyOfTheAlgorithmIsACandidate) {
  const JwkSet set = parsed(
      JwkSetJson({keys().rsa.Jwk("a"), keys().p256.Jwk("e"), keys().rsa_other.Jwk(std::nullopt)}));
  auto picked = select_keys(set, JwtAlgorithm::RS256, std::nullopt);
  ASSERT_TRUE(std::holds_alternative<std::vector<const Jwk*>>(picked));
  EXPECT_EQ(std::get<std::vector<const Jwk*>>(picked).size(), 2u);
  auto none = select_keys(set, JwtAlgorithm::ES384, std::nullopt);
  ASSERT_TRUE(std::holds_alternative<AuthError>(none));
  EXPECT_EQ(std::get<AuthError>(none).reason, AuthFailure::wrong_algorithm);
}

// ---------------------------------------------------------------------------------------------
// HasuraJwtVerifier with a key source

// A key source whose refetch swaps in `next` (when set) before it answers.
class FakeSource final : public JwksSource {
 public:
  explicit FakeSource(std::shared_ptr<const JwkSet> set) : set_(std::move(set)) {}
  std::shared_ptr<const JwkSet> keys() const override { return set_; }
  void refetch_for_unknown_kid(std::function<void()> done) override {
    ++refetches;
    if (next) set_ = next;
    if (done) done();
  }
  JwksStatus status() const override { return {}; }

  int refetches = 0;
  std::shared_ptr<const JwkSet> next;

 private:
  std::shared_ptr<const JwkSet> set_;
};

class JwksVerifierTest : public ::testing::Test {
 protected:
  JwksVerifierTest() {
    source = std::make_shared<FakeSource>(std::make_shared<const JwkSet>(parsed(JwkSetJson(
        {keys().rsa.Jwk("rsa", "RS256"), keys().p256.Jwk("p256"), keys().p384.Jwk("p384")}))));
  }

  HasuraJwtVerifier verifier(std::string secret = R"({"jwk_url":"https://idp.example/jwks"})") {
    return HasuraJwtVerifier(parse_hasura_jwt_secret(secret), source);
  }

  static std::optional<AuthFailure> failure(const VerifyResult& r) {
    if (auto* e = std::get_if<AuthError>(&r)) return e->reason;
    return std::nullopt;
  }

  std::shared_ptr<FakeSource> source;
  json::object claims = HasuraClaims("alice", kNow);
};

TEST_F(JwksVerifierTest, TokensOfEachKeyVerify) {
  const auto v = verifier();
  for (const auto& token :
       {keys().rsa.Sign(claims, "RS256", "rsa"), keys().p256.Sign(claims, "ES256", "p256"),
        keys().p384.Sign(claims, "ES384", "p384")}) {
    const VerifyResult r = v.verify(token, "", kNow);
    ASSERT_TRUE(std::holds_alternative<Identity>(r)) << std::get<AuthError>(r).message;
    EXPECT_EQ(std::get<Identity>(r).user_id, "alice");
    EXPECT_EQ(std::get<Identity>(r).role, "user");
  }
  EXPECT_EQ(source->refetches, 0);
}

TEST_F(JwksVerifierTest, AlgorithmMismatchesAreRefusedBeforeTheSignature) {
  const auto v = verifier();
  // The key says RS256; a token of the same key claiming RS384 is refused.
  EXPECT_EQ(failure(v.verify(keys().rsa.Sign(claims, "RS384", "rsa"), "", kNow)),
            AuthFailure::wrong_algorithm);
  // A P-256 key signs ES256 only.
  EXPECT_EQ(failure(v.verify(keys().p256.Sign(claims, "ES384", "p256"), "", kNow)),
            AuthFailure::wrong_algorithm);
  // HS/RS confusion: an HMAC keyed with the public key, naming the RSA key.
  EXPECT_EQ(failure(v.verify(HmacToken(R"({"alg":"HS256","typ":"JWT","kid":"rsa"})", claims,
                                       keys().rsa.PublicPem()),
                             "", kNow)),
            AuthFailure::wrong_algorithm);
  EXPECT_EQ(failure(v.verify(HmacToken(R"({"alg":"none","kid":"rsa"})", claims, ""), "", kNow)),
            AuthFailure::wrong_algorithm);
  EXPECT_EQ(failure(v.verify(HmacToken(R"({"alg":"PS256","kid":"rsa"})", claims, ""), "", kNow)),
            AuthFailure::wrong_algorithm);
}

TEST_F(JwksVerifierTest, ATypeInTheConfigurationPinsTheAlgorithm) {
  const auto v = verifier(R"({"jwk_url":"https://idp.example/jwks","type":"ES256"})");
  EXPECT_TRUE(std::holds_alternative<Identity>(
      v.verify(keys().p256.Sign(claims, "ES256", "p256"), "", kNow)));
  EXPECT_EQ(failure(v.verify(keys().rsa.Sign(claims, "RS256", "rsa"), "", kNow)),
            AuthFailure::wrong_algorithm);
}

TEST_F(JwksVerifierTest, ASignatureOfAnotherKeyIsBadSignature) {
  EXPECT_EQ(failure(verifier().verify(keys().rsa_other.Sign(claims, "RS256", "rsa"), "", kNow)),
            AuthFailure::bad_signature);
}

TEST_F(JwksVerifierTest, WithoutAKidTheKeysOfTheAlgorithmAreTried) {
  source = std::make_shared<FakeSource>(std::make_shared<const JwkSet>(
      parsed(JwkSetJson({keys().rsa_other.Jwk("x"), keys().rsa.Jwk("y")}))));
  const auto v = verifier();
  EXPECT_TRUE(std::holds_alternative<Identity>(
      v.verify(keys().rsa.Sign(claims, "RS256", std::nullopt), "", kNow)));
  EXPECT_EQ(failure(v.verify(keys().p256.Sign(claims, "ES256", std::nullopt), "", kNow)),
            AuthFailure::wrong_algorithm);
}

TEST_F(JwksVerifierTest, AnUnknownKidIsRefusedAndAsksForARefetch) {
  const auto v = verifier();
  EXPECT_EQ(failure(v.verify(keys().rsa.Sign(claims, "RS256", "new"), "", kNow)),
            AuthFailure::unknown_key);
  EXPECT_EQ(source->refetches, 1);
}

TEST_F(JwksVerifierTest, TheAsyncPathVerifiesAgainstTheRefetchedSet) {
  source->next = std::make_shared<const JwkSet>(parsed(JwkSetJson({keys().rsa.Jwk("new")})));
  std::optional<VerifyResult> result;
  verifier().verify_async(keys().rsa.Sign(claims, "RS256", "new"), "", kNow,
                          [&](VerifyResult r) { result = std::move(r); });
  ASSERT_TRUE(result.has_value());
  ASSERT_TRUE(std::holds_alternative<Identity>(*result)) << std::get<AuthError>(*result).message;
  EXPECT_EQ(source->refetches, 1);
}

TEST_F(JwksVerifierTest, TheAsyncPathAnswersUnknownKeyWhenTheRefetchBringsNothing) {
  std::optional<VerifyResult> result;
  verifier().verify_async(keys().rsa.Sign(claims, "RS256", "new"), "", kNow,
                          [&](VerifyResult r) { result = std::move(r); });
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(failure(*result), AuthFailure::unknown_key);
  EXPECT_EQ(source->refetches, 1);  // once: no loop
}

TEST_F(JwksVerifierTest, ClaimsAreCheckedAsForAStaticKey) {
  json::object expired = claims;
  expired["exp"] = kNow - 1;
  EXPECT_EQ(failure(verifier().verify(keys().rsa.Sign(expired, "RS256", "rsa"), "", kNow)),
            AuthFailure::expired);
  const auto v = verifier(R"({"jwk_url":"https://idp.example/jwks","audience":"app"})");
  EXPECT_EQ(failure(v.verify(keys().rsa.Sign(claims, "RS256", "rsa"), "", kNow)),
            AuthFailure::wrong_audience);
}

TEST_F(JwksVerifierTest, NoSetOrNoSourceRefusesEveryToken) {
  const std::string token = keys().rsa.Sign(claims, "RS256", "rsa");
  HasuraJwtVerifier no_source(parse_hasura_jwt_secret(R"({"jwk_url":"https://idp.example/j"})"));
  EXPECT_EQ(failure(no_source.verify(token, "", kNow)), AuthFailure::unknown_key);
  source = std::make_shared<FakeSource>(nullptr);
  EXPECT_EQ(failure(verifier().verify(token, "", kNow)), AuthFailure::unknown_key);
}

TEST_F(JwksVerifierTest, MalformedTokensAreMalformed) {
  const auto v = verifier();
  for (std::string_view t : {"a.b", "a.b.c", "!!.e30.x", "e30.e30.", "eyJhbGciOjF9.e30.x"}) {
    EXPECT_EQ(failure(v.verify(t, "", kNow)), AuthFailure::malformed) << t;
  }
  EXPECT_EQ(failure(v.verify("", "", kNow)), AuthFailure::missing_token);
  // kid must be a string.
  EXPECT_EQ(failure(v.verify(HmacToken(R"({"alg":"RS256","kid":5})", claims, ""), "", kNow)),
            AuthFailure::malformed);
}

TEST(JwksStatusTest, JsonSaysOkOrStaleAndTheLastError) {
  JwksStatus s;
  s.ok = true;
  s.keys = 2;
  s.last_success = 100;
  s.last_attempt = 100;
  s.next_refresh = 700;
  EXPECT_EQ(to_json(s),
            R"({"status":"ok","keys":2,"last_success":100,"last_attempt":100,"next_refresh":700})");
  s.ok = false;
  s.last_attempt = 200;
  s.last_error = "connect: \"refused\"";
  EXPECT_EQ(
      to_json(s),
      R"({"status":"stale","keys":2,"last_success":100,"last_attempt":200,"next_refresh":700,"last_error":"connect: \"refused\""})");
}

}  // namespace
}  // namespace realtime
