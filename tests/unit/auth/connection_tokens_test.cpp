#include "auth/connection_tokens.hpp"

#include <gtest/gtest.h>

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <atomic>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "auth/jwt.hpp"

namespace json = boost::json;

namespace realtime {
namespace {

constexpr std::string_view kSecret = "connection-token-secret-0123456789abcdef";
constexpr std::string_view kOtherSecret = "another-node-secret-with-32-bytes-or-more";
constexpr std::int64_t kNow = 1'700'000'000;
constexpr int kTtl = 60;

ConnectionClaims claims_of(const std::variant<ConnectionClaims, AuthError>& result) {
  const auto* claims = std::get_if<ConnectionClaims>(&result);
  if (claims == nullptr) {
    ADD_FAILURE() << "refused: " << to_string(std::get<AuthError>(result).reason) << ": "
                  << std::get<AuthError>(result).message;
    return {};
  }
  return *claims;
}

// The refusal's name, or "ok".
std::string failure_of(const std::variant<ConnectionClaims, AuthError>& result) {
  const auto* err = std::get_if<AuthError>(&result);
  return err != nullptr ? std::string(to_string(err->reason)) : "ok";
}

struct TokenParts {
  std::string header, payload, signature;
};

TokenParts split(const std::string& token) {
  const auto dot1 = token.find('.');
  const auto dot2 = token.find('.', dot1 + 1);
  return {token.substr(0, dot1), token.substr(dot1 + 1, dot2 - dot1 - 1), token.substr(dot2 + 1)};
}

json::object payload_of(const std::string& token) {
  auto bytes = base64url_decode(split(token).payload);
  EXPECT_TRUE(bytes.has_value());
  return json::parse(bytes.value_or("{}")).as_object();
}

// --- ConnectionTokens ---

TEST(ConnectionTokensTest, KnowsItsTtl) {
  EXPECT_EQ(ConnectionTokens(std::string(kSecret), 42).ttl_seconds(), 42);
}

TEST(ConnectionTokensTest, RoundTripKeepsUserAndRole) {
  const ConnectionTokens tokens(std::string(kSecret), kTtl);
  const std::string token = tokens.issue(Subject{"alice", "user", {}}, kNow);
  const auto claims = claims_of(tokens.verify(token, kNow));
  EXPECT_EQ(claims.subject.user_id, "alice");
  EXPECT_EQ(claims.subject.role, "user");
  EXPECT_TRUE(claims.subject.grants.empty());
  EXPECT_FALSE(claims.jti.empty());
}

TEST(ConnectionTokensTest, RoundTripKeepsGrantsInOrder) {
  const ConnectionTokens tokens(std::string(kSecret), kTtl);
  const Subject subject{"svc-42", "service", {"orders:*", "private:{user_id}:**", "news"}};
  const auto claims = claims_of(tokens.verify(tokens.issue(subject, kNow), kNow));
  EXPECT_EQ(claims.subject.user_id, "svc-42");
  EXPECT_EQ(claims.subject.role, "service");
  EXPECT_EQ(claims.subject.grants, subject.grants);
}

TEST(ConnectionTokensTest, RoundTripKeepsUnusualUserIds) {
  const ConnectionTokens tokens(std::string(kSecret), kTtl);
  for (const char* id : {"7c9e6679-7425-40de-944b-e07fc1f90ae7", "ünïcödé", "a\"b\\c", "42"}) {
    SCOPED_TRACE(id);
    const auto claims = claims_of(tokens.verify(tokens.issue(Subject{id, "user", {}}, kNow), kNow));
    EXPECT_EQ(claims.subject.user_id, id);
  }
}

TEST(ConnectionTokensTest, IssuesAUniqueJtiEveryTime) {
  const ConnectionTokens tokens(std::string(kSecret), kTtl);
  const Subject alice{"alice", "user", {}};
  std::set<std::string> jtis;
  std::set<std::string> issued;
  constexpr int kCount = 200;
  for (int i = 0; i < kCount; ++i) {
    const std::string token = tokens.issue(alice, kNow);  // same subject, same second
    issued.insert(token);
    jtis.insert(claims_of(tokens.verify(token, kNow)).jti);
  }
  EXPECT_EQ(jtis.size(), static_cast<std::size_t>(kCount));
  EXPECT_EQ(issued.size(), static_cast<std::size_t>(kCount));
}

TEST(ConnectionTokensTest, ExpiresAtIsNowPlusTtl) {
  const ConnectionTokens tokens(std::string(kSecret), kTtl);
  const auto claims = claims_of(tokens.verify(tokens.issue(Subject{"a", "user", {}}, kNow), kNow));
  EXPECT_EQ(claims.expires_at, kNow + kTtl);
}

TEST(ConnectionTokensTest, IsSignedHs256WithTheDocumentedClaims) {
  const ConnectionTokens tokens(std::string(kSecret), kTtl);
  const std::string token = tokens.issue(Subject{"alice", "user", {"x:*"}}, kNow);
  const auto header = base64url_decode(split(token).header);
  ASSERT_TRUE(header.has_value());
  EXPECT_EQ(json::parse(*header).as_object().at("alg").as_string(), "HS256");
  const json::object payload = payload_of(token);
  EXPECT_EQ(payload.at("iss").as_string(), ConnectionTokens::issuer);
  EXPECT_EQ(payload.at("sub").as_string(), "alice");
  EXPECT_EQ(payload.at("role").as_string(), "user");
  EXPECT_EQ(payload.at("iat").to_number<std::int64_t>(), kNow);
  EXPECT_EQ(payload.at("exp").to_number<std::int64_t>(), kNow + kTtl);
  EXPECT_TRUE(payload.at("jti").is_string());
}

TEST(ConnectionTokensTest, IsValidUntilJustBeforeExpiry) {
  const ConnectionTokens tokens(std::string(kSecret), kTtl);
  const std::string token = tokens.issue(Subject{"alice", "user", {}}, kNow);
  EXPECT_EQ(failure_of(tokens.verify(token, kNow + kTtl - 1)), "ok");
}

TEST(ConnectionTokensTest, IsExpiredAtNowPlusTtl) {
  const ConnectionTokens tokens(std::string(kSecret), kTtl);
  const std::string token = tokens.issue(Subject{"alice", "user", {}}, kNow);
  // Verification tolerates 5 s of clock difference between nodes.
  EXPECT_EQ(failure_of(tokens.verify(token, kNow + kTtl + 5)), "expired");
  EXPECT_EQ(failure_of(tokens.verify(token, kNow + 10 * kTtl)), "expired");
}

TEST(ConnectionTokensTest, TokenFromAnotherSecretHasABadSignature) {
  const ConnectionTokens ours(std::string(kSecret), kTtl);
  const ConnectionTokens theirs(std::string(kOtherSecret), kTtl);
  const std::string token = theirs.issue(Subject{"alice", "admin", {}}, kNow);
  EXPECT_EQ(failure_of(ours.verify(token, kNow)), "bad_signature");
}

TEST(ConnectionTokensTest, HasuraJwtWithTheSameSecretIsMalformed) {
  // A Hasura JWT sent where a connection token is expected: the signature verifies (same secret)
  // but it was not issued by us.
  json::object hasura;
  hasura["sub"] = "alice";
  hasura["iat"] = kNow;
  hasura["exp"] = kNow + 3600;
  hasura["https://hasura.io/jwt/claims"] = json::object{
      {"x-hasura-user-id", "alice"},
      {"x-hasura-default-role", "user"},
      {"x-hasura-allowed-roles", json::array{"user"}},
  };
  const ConnectionTokens tokens(std::string(kSecret), kTtl);
  EXPECT_EQ(failure_of(tokens.verify(sign_hs256(hasura, kSecret), kNow)), "malformed");

  // Even with the fields we read, a foreign issuer is not ours.
  hasura["iss"] = "https://auth.example";
  hasura["role"] = "admin";
  hasura["jti"] = "abc";
  EXPECT_EQ(failure_of(tokens.verify(sign_hs256(hasura, kSecret), kNow)), "malformed");
}

TEST(ConnectionTokensTest, OurIssuerWithoutTheOtherClaimsIsMalformed) {
  const ConnectionTokens tokens(std::string(kSecret), kTtl);
  const json::object complete{{"iss", ConnectionTokens::issuer},
                              {"sub", "alice"},
                              {"role", "user"},
                              {"jti", "j1"},
                              {"exp", kNow + 10}};
  EXPECT_EQ(failure_of(tokens.verify(sign_hs256(complete, kSecret), kNow)), "ok");
  for (const char* missing : {"iss", "sub", "role", "jti", "exp"}) {
    SCOPED_TRACE(missing);
    json::object claims = complete;
    claims.erase(missing);
    EXPECT_EQ(failure_of(tokens.verify(sign_hs256(claims, kSecret), kNow)), "malformed");
  }
}

TEST(ConnectionTokensTest, TamperedPayloadHasABadSignature) {
  const ConnectionTokens tokens(std::string(kSecret), kTtl);
  const std::string token = tokens.issue(Subject{"alice", "user", {}}, kNow);
  const TokenParts parts = split(token);

  json::object payload = payload_of(token);
  payload["role"] = "admin";
  const std::string escalated =
      parts.header + "." + base64url_encode(json::serialize(payload)) + "." + parts.signature;
  EXPECT_EQ(failure_of(tokens.verify(escalated, kNow)), "bad_signature");

  payload = payload_of(token);
  payload["sub"] = "bob";
  const std::string impersonated =
      parts.header + "." + base64url_encode(json::serialize(payload)) + "." + parts.signature;
  EXPECT_EQ(failure_of(tokens.verify(impersonated, kNow)), "bad_signature");

  payload = payload_of(token);
  payload["exp"] = kNow + 100000;
  const std::string extended =
      parts.header + "." + base64url_encode(json::serialize(payload)) + "." + parts.signature;
  EXPECT_EQ(failure_of(tokens.verify(extended, kNow + kTtl)), "bad_signature");
}

TEST(ConnectionTokensTest, TamperedSignatureIsRefused) {
  const ConnectionTokens tokens(std::string(kSecret), kTtl);
  const std::string token = tokens.issue(Subject{"alice", "user", {}}, kNow);
  const TokenParts parts = split(token);
  std::string signature = parts.signature;
  signature[0] = signature[0] == 'A' ? 'B' : 'A';
  EXPECT_EQ(failure_of(tokens.verify(parts.header + "." + parts.payload + "." + signature, kNow)),
            "bad_signature");
  EXPECT_NE(failure_of(tokens.verify(parts.header + "." + parts.payload + ".", kNow)), "ok");
}

// A 32-byte HMAC is 43 base64url characters whose last one carries 2 unused bits: another
// spelling of the same bytes is not the token that was signed.
TEST(ConnectionTokensTest, NonCanonicalSpellingOfTheSignatureIsRefused) {
  static constexpr std::string_view alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const ConnectionTokens tokens(std::string(kSecret), kTtl);
  const std::string token = tokens.issue(Subject{"alice", "user", {}}, kNow);
  const TokenParts parts = split(token);
  ASSERT_EQ(parts.signature.size(), 43u);
  std::string signature = parts.signature;
  signature.back() = alphabet[alphabet.find(signature.back()) ^ 1];
  ASSERT_EQ(base64url_decode(signature), base64url_decode(parts.signature));  // same bytes
  EXPECT_EQ(failure_of(tokens.verify(parts.header + "." + parts.payload + "." + signature, kNow)),
            "bad_signature");
  EXPECT_EQ(failure_of(tokens.verify(token, kNow)), "ok");
}

TEST(ConnectionTokensTest, UnsignedTokenIsRefused) {
  const ConnectionTokens tokens(std::string(kSecret), kTtl);
  const std::string token = tokens.issue(Subject{"alice", "user", {}}, kNow);
  const std::string none_header = base64url_encode(R"({"alg":"none","typ":"JWT"})");
  EXPECT_EQ(failure_of(tokens.verify(none_header + "." + split(token).payload + ".", kNow)),
            "wrong_algorithm");
}

TEST(ConnectionTokensTest, GarbageIsMalformedAndEmptyIsMissing) {
  const ConnectionTokens tokens(std::string(kSecret), kTtl);
  EXPECT_EQ(failure_of(tokens.verify("", kNow)), "missing_token");
  EXPECT_EQ(failure_of(tokens.verify("not-a-token", kNow)), "malformed");
  EXPECT_EQ(failure_of(tokens.verify("a.b.c", kNow)), "malformed");
  EXPECT_EQ(failure_of(tokens.verify("a.b.c.d", kNow)), "malformed");
}

TEST(ConnectionTokensTest, RandomSecretsAreLongAndDistinct) {
  const std::string a = random_token_secret();
  const std::string b = random_token_secret();
  EXPECT_GE(a.size(), 32u);
  EXPECT_NE(a, b);
}

// --- MemoryUsedTokens ---

TEST(UsedConnectionTokensTest, FirstUseIsAcceptedAndReplayRefused) {
  MemoryUsedTokens used;
  EXPECT_TRUE(used.first_use("jti-1", kNow + kTtl, kNow));
  EXPECT_FALSE(used.first_use("jti-1", kNow + kTtl, kNow));
  EXPECT_FALSE(used.first_use("jti-1", kNow + kTtl, kNow + 1));
}

TEST(UsedConnectionTokensTest, ReplayIsRefusedUntilExpiryEvenAfterPurges) {
  MemoryUsedTokens used;
  EXPECT_TRUE(used.first_use("jti-1", kNow + kTtl, kNow));
  // Other connections over the token's lifetime give the store chances to purge.
  for (std::int64_t t = kNow; t < kNow + kTtl; t += 7) {
    EXPECT_TRUE(used.first_use("other-" + std::to_string(t), t + kTtl, t));
    EXPECT_FALSE(used.first_use("jti-1", kNow + kTtl, t)) << "at now + " << (t - kNow);
  }
  EXPECT_FALSE(used.first_use("jti-1", kNow + kTtl, kNow + kTtl - 1));
}

TEST(UsedConnectionTokensTest, DifferentJtisAreIndependent) {
  MemoryUsedTokens used;
  EXPECT_TRUE(used.first_use("jti-1", kNow + kTtl, kNow));
  EXPECT_TRUE(used.first_use("jti-2", kNow + kTtl, kNow));
  EXPECT_FALSE(used.first_use("jti-1", kNow + kTtl, kNow));
  EXPECT_FALSE(used.first_use("jti-2", kNow + kTtl, kNow));
  EXPECT_TRUE(used.first_use("jti-3", kNow + kTtl, kNow));
}

TEST(UsedConnectionTokensTest, ForgetsJtisOnceTheyHaveExpired) {
  MemoryUsedTokens used;
  EXPECT_TRUE(used.first_use("jti-1", kNow + kTtl, kNow));
  // Long after expiry the entry has been purged: the id is new again (the token itself would be
  // refused as expired before reaching this store).
  EXPECT_TRUE(used.first_use("jti-1", kNow + 10 * kTtl, kNow + 2 * kTtl));
  EXPECT_FALSE(used.first_use("jti-1", kNow + 10 * kTtl, kNow + 2 * kTtl));
}

TEST(UsedConnectionTokensTest, PurgeKeepsUnexpiredEntries) {
  MemoryUsedTokens used;
  EXPECT_TRUE(used.first_use("short", kNow + 10, kNow));
  EXPECT_TRUE(used.first_use("long", kNow + 1000, kNow));
  // At kNow + 100 "short" has expired and "long" has not.
  EXPECT_TRUE(used.first_use("trigger", kNow + 200, kNow + 100));
  EXPECT_TRUE(used.first_use("short", kNow + 200, kNow + 100));
  EXPECT_FALSE(used.first_use("long", kNow + 1000, kNow + 100));
}

TEST(UsedConnectionTokensTest, PurgesEveryExpiredEntry) {
  // Many single-use tokens that all expired are all forgotten, so the store does not grow with
  // the number of tokens ever used.
  MemoryUsedTokens used;
  constexpr int kCount = 5000;
  for (int i = 0; i < kCount; ++i) {
    ASSERT_TRUE(used.first_use("old-" + std::to_string(i), kNow + kTtl, kNow));
  }
  const std::int64_t later = kNow + 5 * kTtl;
  EXPECT_TRUE(used.first_use("new", later + kTtl, later));
  for (int i = 0; i < kCount; ++i) {
    ASSERT_TRUE(used.first_use("old-" + std::to_string(i), later + kTtl, later)) << i;
  }
}

TEST(UsedConnectionTokensTest, WorksThroughTheInterface) {
  MemoryUsedTokens memory;
  UsedTokens& used = memory;
  EXPECT_TRUE(used.first_use("x", kNow + 1, kNow));
  EXPECT_FALSE(used.first_use("x", kNow + 1, kNow));
}

TEST(UsedConnectionTokensTest, ExactlyOneConcurrentUseWins) {
  MemoryUsedTokens used;
  std::atomic<int> winners{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      for (int j = 0; j < 200; ++j) {
        if (used.first_use("jti-" + std::to_string(j), kNow + kTtl, kNow)) ++winners;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(winners.load(), 200);
}

TEST(UsedConnectionTokensTest, VerifiedTokenIsUsableOnce) {
  const ConnectionTokens tokens(std::string(kSecret), kTtl);
  MemoryUsedTokens used;
  const std::string token = tokens.issue(Subject{"alice", "user", {}}, kNow);
  const auto first = claims_of(tokens.verify(token, kNow));
  EXPECT_TRUE(used.first_use(first.jti, first.expires_at, kNow));
  const auto second = claims_of(tokens.verify(token, kNow + 1));
  EXPECT_FALSE(used.first_use(second.jti, second.expires_at, kNow + 1));
  const std::string fresh = tokens.issue(Subject{"alice", "user", {}}, kNow + 1);
  const auto third = claims_of(tokens.verify(fresh, kNow + 1));
  EXPECT_TRUE(used.first_use(third.jti, third.expires_at, kNow + 1));
}

}  // namespace
}  // namespace realtime
