// HASURA_GRAPHQL_JWT_SECRET parsing, the shared time-claim checks and base64url.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "auth/hasura_jwt.hpp"
#include "auth/jwt.hpp"
#include "config/config.hpp"

namespace json = boost::json;

namespace realtime {
namespace {

using ::testing::HasSubstr;

constexpr std::string_view kSecret32 = "0123456789abcdef0123456789abcdef";  // exactly 32 bytes

constexpr std::string_view kRsaPem =
    "-----BEGIN PUBLIC KEY-----\\n"
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAttyxNqmSe+s+v47JiCp+\\n"
    "je0QUmCBvfAlZhTDRF6Ycowokt7/yjskrN4aKh23RjAKmyPZ4wTF//2MAESAXY8k\\n"
    "tnxU2VHF3a0c1d+gABVTkJmH7bLq+a/NG8flzv0Gz4rZ4oUNoudfZtaPhaXk7M5z\\n"
    "f7pMC4WT8xQAb4umc6LXkSTz7Bu6iWskGXDJjg95PIJThHdnQp7DH8yL0396lIA7\\n"
    "B6d5Y7M/8mxIUsdIvt62/AWVA8qFpBuMsAosy6hJsfHclEXWoOCE5kDmmcyi4pJH\\n"
    "+zOps4XMIxIKgEdmE3U4Gz6E5+ev3jA+GMuLrwevnte/36sXZbyyZJvGrFf4sRnq\\n"
    "VwIDAQAB\\n"
    "-----END PUBLIC KEY-----";  // JSON-escaped newlines, as in the env var

constexpr std::string_view kEcPem =
    "-----BEGIN PUBLIC KEY-----\\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEa3QJVGRzSrDE8wK///Rugoc7qVP+\\n"
    "ZAQg4KqbyNyM23/ZuufqdtGdNw7BdMdTG5UVMSzpynhaeR/cl4SgbnMCKg==\\n"
    "-----END PUBLIC KEY-----";

// {"type":"HS256","key":<32-byte secret>, <extra>}
std::string hs256_config(std::string_view extra = "") {
  std::string out = R"({"type":"HS256","key":")" + std::string(kSecret32) + "\"";
  if (!extra.empty()) out += "," + std::string(extra);
  return out + "}";
}

std::string config_error(std::string_view value) {
  try {
    parse_hasura_jwt_secret(value);
  } catch (const ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "parse_hasura_jwt_secret accepted: " << value;
  return {};
}

// --- parse_hasura_jwt_secret: accepted forms ---

TEST(HasuraJwtConfigTest, PlainStringIsAnHs256Secret) {
  const auto config = parse_hasura_jwt_secret(kSecret32);
  EXPECT_EQ(config.algorithm, JwtAlgorithm::HS256);
  EXPECT_EQ(config.key, kSecret32);
  EXPECT_EQ(config.claims_namespace, "https://hasura.io/jwt/claims");
  EXPECT_TRUE(config.claims_namespace_path.empty());
  EXPECT_FALSE(config.stringified_claims);
  EXPECT_TRUE(config.audience.empty());
  EXPECT_TRUE(config.issuer.empty());
  EXPECT_EQ(config.allowed_skew, 0);
}

TEST(HasuraJwtConfigTest, PlainStringShorterThan32BytesIsRefused) {
  const std::string message = config_error(kSecret32.substr(0, 31));
  EXPECT_THAT(message, HasSubstr("HASURA_GRAPHQL_JWT_SECRET"));
  EXPECT_THAT(message, HasSubstr("32 bytes"));
}

TEST(HasuraJwtConfigTest, EmptyValueIsRefused) {
  EXPECT_THAT(config_error(""), HasSubstr("empty"));
  EXPECT_THAT(config_error("  \n"), HasSubstr("empty"));
}

TEST(HasuraJwtConfigTest, JsonWithTypeAndKeyGivesDefaultsForTheRest) {
  const auto config = parse_hasura_jwt_secret(hs256_config());
  EXPECT_EQ(config.algorithm, JwtAlgorithm::HS256);
  EXPECT_EQ(config.key, kSecret32);
  EXPECT_EQ(config.claims_namespace, "https://hasura.io/jwt/claims");
  EXPECT_TRUE(config.claims_namespace_path.empty());
  EXPECT_FALSE(config.stringified_claims);
  EXPECT_TRUE(config.audience.empty());
  EXPECT_TRUE(config.issuer.empty());
  EXPECT_EQ(config.allowed_skew, 0);
}

TEST(HasuraJwtConfigTest, JsonWithLeadingWhitespaceIsStillJson) {
  const auto config = parse_hasura_jwt_secret("  \n" + hs256_config(R"("issuer":"x")"));
  EXPECT_EQ(config.key, kSecret32);
  EXPECT_EQ(config.issuer, "x");
}

TEST(HasuraJwtConfigTest, EveryHmacTypeIsAccepted) {
  for (auto [name, alg] :
       {std::pair{"HS256", JwtAlgorithm::HS256}, std::pair{"HS384", JwtAlgorithm::HS384},
        std::pair{"HS512", JwtAlgorithm::HS512}}) {
    SCOPED_TRACE(name);
    const auto config = parse_hasura_jwt_secret(std::string(R"({"type":")") + name +
                                                R"(","key":")" + std::string(kSecret32) + "\"}");
    EXPECT_EQ(config.algorithm, alg);
  }
}

TEST(HasuraJwtConfigTest, RsaTypesTakeAPemKey) {
  for (auto [name, alg] :
       {std::pair{"RS256", JwtAlgorithm::RS256}, std::pair{"RS384", JwtAlgorithm::RS384},
        std::pair{"RS512", JwtAlgorithm::RS512}}) {
    SCOPED_TRACE(name);
    const auto config = parse_hasura_jwt_secret(std::string(R"({"type":")") + name +
                                                R"(","key":")" + std::string(kRsaPem) + "\"}");
    EXPECT_EQ(config.algorithm, alg);
    EXPECT_TRUE(config.key.starts_with("-----BEGIN PUBLIC KEY-----\n"));
    EXPECT_TRUE(config.key.ends_with("-----END PUBLIC KEY-----"));
  }
}

TEST(HasuraJwtConfigTest, EcTypesTakeAPemKey) {
  for (auto [name, alg] :
       {std::pair{"ES256", JwtAlgorithm::ES256}, std::pair{"ES384", JwtAlgorithm::ES384}}) {
    SCOPED_TRACE(name);
    const auto config = parse_hasura_jwt_secret(std::string(R"({"type":")") + name +
                                                R"(","key":")" + std::string(kEcPem) + "\"}");
    EXPECT_EQ(config.algorithm, alg);
    EXPECT_THAT(config.key, HasSubstr("-----BEGIN PUBLIC KEY-----"));
  }
}

TEST(HasuraJwtConfigTest, ReadsClaimsNamespace) {
  const auto config =
      parse_hasura_jwt_secret(hs256_config(R"("claims_namespace":"https://example.com/claims")"));
  EXPECT_EQ(config.claims_namespace, "https://example.com/claims");
  EXPECT_TRUE(config.claims_namespace_path.empty());
}

TEST(HasuraJwtConfigTest, ReadsClaimsNamespacePath) {
  const auto config =
      parse_hasura_jwt_secret(hs256_config(R"("claims_namespace_path":"$.app.hasura")"));
  EXPECT_EQ(config.claims_namespace_path, "$.app.hasura");
  EXPECT_EQ(config.claims_namespace, "https://hasura.io/jwt/claims");
}

TEST(HasuraJwtConfigTest, RejectsClaimsNamespacePathThatIsNotAJsonPath) {
  EXPECT_THAT(config_error(hs256_config(R"("claims_namespace_path":"app.hasura")")),
              HasSubstr("claims_namespace_path"));
  EXPECT_THAT(config_error(hs256_config(R"("claims_namespace_path":"")")),
              HasSubstr("claims_namespace_path"));
}

TEST(HasuraJwtConfigTest, ReadsClaimsFormat) {
  EXPECT_FALSE(
      parse_hasura_jwt_secret(hs256_config(R"("claims_format":"json")")).stringified_claims);
  EXPECT_TRUE(parse_hasura_jwt_secret(hs256_config(R"("claims_format":"stringified_json")"))
                  .stringified_claims);
}

TEST(HasuraJwtConfigTest, ReadsAudienceAsString) {
  const auto config = parse_hasura_jwt_secret(hs256_config(R"("audience":"chat-app")"));
  EXPECT_EQ(config.audience, (std::vector<std::string>{"chat-app"}));
}

TEST(HasuraJwtConfigTest, ReadsAudienceAsArray) {
  const auto config = parse_hasura_jwt_secret(hs256_config(R"("audience":["a","b","c"])"));
  EXPECT_EQ(config.audience, (std::vector<std::string>{"a", "b", "c"}));
}

TEST(HasuraJwtConfigTest, ReadsIssuer) {
  const auto config = parse_hasura_jwt_secret(hs256_config(R"("issuer":"https://auth.example")"));
  EXPECT_EQ(config.issuer, "https://auth.example");
}

TEST(HasuraJwtConfigTest, ReadsAllowedSkew) {
  EXPECT_EQ(parse_hasura_jwt_secret(hs256_config(R"("allowed_skew":120)")).allowed_skew, 120);
  EXPECT_EQ(parse_hasura_jwt_secret(hs256_config(R"("allowed_skew":0)")).allowed_skew, 0);
  EXPECT_EQ(parse_hasura_jwt_secret(hs256_config(R"("allowed_skew":2.5)")).allowed_skew, 2);
}

TEST(HasuraJwtConfigTest, ReadsEveryFieldTogether) {
  const auto config = parse_hasura_jwt_secret(std::string(R"({"type":"RS512","key":")") +
                                              std::string(kRsaPem) + R"(",
      "claims_namespace":"ns", "claims_namespace_path":"$['x']['y.z']",
      "claims_format":"stringified_json", "audience":["web","mobile"],
      "issuer":"iss", "allowed_skew":30})");
  EXPECT_EQ(config.algorithm, JwtAlgorithm::RS512);
  EXPECT_EQ(config.claims_namespace, "ns");
  EXPECT_EQ(config.claims_namespace_path, "$['x']['y.z']");
  EXPECT_TRUE(config.stringified_claims);
  EXPECT_EQ(config.audience, (std::vector<std::string>{"web", "mobile"}));
  EXPECT_EQ(config.issuer, "iss");
  EXPECT_EQ(config.allowed_skew, 30);
}

// --- parse_hasura_jwt_secret: errors ---

TEST(HasuraJwtConfigTest, RejectsBadJson) {
  const std::string message = config_error(R"({"type":"HS256","key":)");
  EXPECT_THAT(message, HasSubstr("HASURA_GRAPHQL_JWT_SECRET"));
  EXPECT_THAT(message, HasSubstr("not valid JSON"));
  EXPECT_THAT(config_error("{type: HS256}"), HasSubstr("not valid JSON"));
}

TEST(HasuraJwtConfigTest, RejectsMissingType) {
  const std::string message = config_error(R"({"key":")" + std::string(kSecret32) + "\"}");
  EXPECT_THAT(message, HasSubstr("\"type\" is required"));
}

TEST(HasuraJwtConfigTest, RejectsNonStringType) {
  EXPECT_THAT(config_error(R"({"type":256,"key":")" + std::string(kSecret32) + "\"}"),
              HasSubstr("\"type\""));
}

TEST(HasuraJwtConfigTest, RejectsUnsupportedType) {
  for (const char* type : {"none", "PS256", "ES512", "EdDSA", "hs256", ""}) {
    SCOPED_TRACE(type);
    const std::string message = config_error(std::string(R"({"type":")") + type + R"(","key":")" +
                                             std::string(kSecret32) + "\"}");
    EXPECT_THAT(message, HasSubstr("not supported"));
    EXPECT_THAT(message, HasSubstr("\"" + std::string(type) + "\""));
  }
}

TEST(HasuraJwtConfigTest, RejectsMissingOrEmptyKey) {
  EXPECT_THAT(config_error(R"({"type":"HS256"})"), HasSubstr("\"key\" is required"));
  EXPECT_THAT(config_error(R"({"type":"HS256","key":""})"), HasSubstr("\"key\" is required"));
  EXPECT_THAT(config_error(R"({"type":"RS256"})"), HasSubstr("\"key\" is required"));
  EXPECT_THAT(config_error(R"({"type":"HS256","key":42})"), HasSubstr("\"key\""));
}

TEST(HasuraJwtConfigTest, RejectsHmacKeyShorterThan32Bytes) {
  for (const char* type : {"HS256", "HS384", "HS512"}) {
    SCOPED_TRACE(type);
    const std::string message = config_error(std::string(R"({"type":")") + type + R"(","key":")" +
                                             std::string(kSecret32.substr(0, 31)) + "\"}");
    EXPECT_THAT(message, HasSubstr("at least 32 bytes"));
  }
}

TEST(HasuraJwtConfigTest, RejectsAsymmetricKeyThatIsNotPem) {
  for (const char* type : {"RS256", "RS384", "RS512", "ES256", "ES384"}) {
    SCOPED_TRACE(type);
    const std::string message = config_error(std::string(R"({"type":")") + type + R"(","key":")" +
                                             std::string(kSecret32) + "\"}");
    EXPECT_THAT(message, HasSubstr("PEM"));
    EXPECT_THAT(message, HasSubstr(type));
  }
}

TEST(HasuraJwtConfigTest, AcceptsJwkUrlWithOrWithoutType) {
  const HasuraJwtConfig any = parse_hasura_jwt_secret(
      R"({"jwk_url":"https://auth.example/.well-known/jwks.json","audience":"app"})");
  EXPECT_EQ(any.jwk_url, "https://auth.example/.well-known/jwks.json");
  EXPECT_TRUE(any.any_jwk_algorithm);
  EXPECT_TRUE(any.key.empty());
  EXPECT_EQ(any.audience, std::vector<std::string>{"app"});
  const HasuraJwtConfig pinned =
      parse_hasura_jwt_secret(R"({"type":"ES256","jwk_url":"http://auth:4000/jwks?x=1"})");
  EXPECT_FALSE(pinned.any_jwk_algorithm);
  EXPECT_EQ(pinned.algorithm, JwtAlgorithm::ES256);
  EXPECT_EQ(pinned.jwk_url, "http://auth:4000/jwks?x=1");
}

TEST(HasuraJwtConfigTest, RejectsJwkUrlWithAKeyOrAnHmacType) {
  EXPECT_THAT(config_error(hs256_config(R"("jwk_url":"https://auth.example/jwks")")),
              HasSubstr("give \"key\" or \"jwk_url\", not both"));
  EXPECT_THAT(config_error(R"({"type":"HS512","jwk_url":"https://auth.example/jwks"})"),
              HasSubstr("needs a shared \"key\""));
}

TEST(HasuraJwtConfigTest, RejectsAJwkUrlThatIsNotAnHttpUrl) {
  for (std::string_view url : {"", "auth.example/jwks", "ftp://auth.example/jwks", "https://",
                               "https:///jwks", "file:///etc/jwks.json", "https://a b/"}) {
    SCOPED_TRACE(url);
    EXPECT_THAT(config_error(R"({"jwk_url":")" + std::string(url) + "\"}"),
                HasSubstr("\"jwk_url\" must be an https://"));
  }
  EXPECT_THAT(config_error(R"({"jwk_url":42})"), HasSubstr("\"jwk_url\" must be a string"));
}

TEST(HasuraJwtConfigTest, WithoutJwkUrlTypeIsStillRequired) {
  EXPECT_THAT(config_error(R"({"key":"0123456789abcdef0123456789abcdef"})"),
              HasSubstr("\"type\" is required"));
}

TEST(HasuraJwtConfigTest, RejectsBadClaimsFormat) {
  EXPECT_THAT(config_error(hs256_config(R"("claims_format":"yaml")")),
              HasSubstr("\"claims_format\" must be json or stringified_json"));
  EXPECT_THAT(config_error(hs256_config(R"("claims_format":"")")), HasSubstr("claims_format"));
  EXPECT_THAT(config_error(hs256_config(R"("claims_format":true)")), HasSubstr("claims_format"));
}

TEST(HasuraJwtConfigTest, RejectsBadAudienceType) {
  EXPECT_THAT(config_error(hs256_config(R"("audience":42)")),
              HasSubstr("\"audience\" must be a string or an array of strings"));
  EXPECT_THAT(config_error(hs256_config(R"("audience":{"a":1})")), HasSubstr("\"audience\""));
  EXPECT_THAT(config_error(hs256_config(R"("audience":["ok",1])")),
              HasSubstr("\"audience\" must hold strings"));
}

TEST(HasuraJwtConfigTest, RejectsNonStringIssuerAndNamespace) {
  EXPECT_THAT(config_error(hs256_config(R"("issuer":1)")),
              HasSubstr("\"issuer\" must be a string"));
  EXPECT_THAT(config_error(hs256_config(R"("claims_namespace":[])")),
              HasSubstr("\"claims_namespace\" must be a string"));
}

TEST(HasuraJwtConfigTest, RejectsNegativeOrNonNumericSkew) {
  EXPECT_THAT(config_error(hs256_config(R"("allowed_skew":-1)")), HasSubstr("\"allowed_skew\""));
  EXPECT_THAT(config_error(hs256_config(R"("allowed_skew":-0.5)")), HasSubstr("\"allowed_skew\""));
  EXPECT_THAT(config_error(hs256_config(R"("allowed_skew":"60")")), HasSubstr("\"allowed_skew\""));
}

// --- check_time_claims ---

constexpr std::int64_t kNow = 1'700'000'000;

// The refusal's name, or "ok".
std::string time_failure(const json::object& claims, std::int64_t skew = 0) {
  auto err = check_time_claims(claims, kNow, skew);
  return err ? std::string(to_string(err->reason)) : "ok";
}

TEST(TimeClaimsTest, NoTimeClaimsPass) { EXPECT_EQ(time_failure({}), "ok"); }

TEST(TimeClaimsTest, ExpInTheFuturePasses) { EXPECT_EQ(time_failure({{"exp", kNow + 1}}), "ok"); }

TEST(TimeClaimsTest, ExpEqualToNowIsExpired) {
  // RFC 7519 4.1.4: the current time must be *before* exp.
  EXPECT_EQ(time_failure({{"exp", kNow}}), "expired");
}

TEST(TimeClaimsTest, ExpInThePastIsExpired) {
  EXPECT_EQ(time_failure({{"exp", kNow - 1}}), "expired");
  EXPECT_EQ(time_failure({{"exp", 0}}), "expired");
}

TEST(TimeClaimsTest, SkewToleratesARecentlyExpiredToken) {
  EXPECT_EQ(time_failure({{"exp", kNow - 59}}, 60), "ok");
  EXPECT_EQ(time_failure({{"exp", kNow - 60}}, 60), "expired");
  EXPECT_EQ(time_failure({{"exp", kNow - 61}}, 60), "expired");
}

TEST(TimeClaimsTest, NbfAtOrBeforeNowPasses) {
  EXPECT_EQ(time_failure({{"nbf", kNow}}), "ok");
  EXPECT_EQ(time_failure({{"nbf", kNow - 100}}), "ok");
}

TEST(TimeClaimsTest, NbfInTheFutureIsNotYetValid) {
  EXPECT_EQ(time_failure({{"nbf", kNow + 1}}), "not_yet_valid");
}

TEST(TimeClaimsTest, SkewToleratesAnNbfSlightlyAhead) {
  EXPECT_EQ(time_failure({{"nbf", kNow + 60}}, 60), "ok");
  EXPECT_EQ(time_failure({{"nbf", kNow + 61}}, 60), "not_yet_valid");
}

TEST(TimeClaimsTest, IatInTheFutureIsNotYetValid) {
  EXPECT_EQ(time_failure({{"iat", kNow}}), "ok");
  EXPECT_EQ(time_failure({{"iat", kNow - 3600}}), "ok");
  EXPECT_EQ(time_failure({{"iat", kNow + 1}}), "not_yet_valid");
}

TEST(TimeClaimsTest, SkewToleratesAnIatSlightlyAhead) {
  EXPECT_EQ(time_failure({{"iat", kNow + 30}}, 30), "ok");
  EXPECT_EQ(time_failure({{"iat", kNow + 31}}, 30), "not_yet_valid");
}

TEST(TimeClaimsTest, ExpiredWinsOverNotYetValid) {
  EXPECT_EQ(time_failure({{"exp", kNow - 1}, {"nbf", kNow + 1}}), "expired");
}

TEST(TimeClaimsTest, AValidWindowPasses) {
  EXPECT_EQ(time_failure({{"iat", kNow - 10}, {"nbf", kNow - 10}, {"exp", kNow + 50}}), "ok");
}

TEST(TimeClaimsTest, AcceptsUnsignedAndFractionalTimestamps) {
  EXPECT_EQ(time_failure({{"exp", static_cast<std::uint64_t>(kNow + 10)}}), "ok");
  EXPECT_EQ(time_failure({{"exp", static_cast<std::uint64_t>(kNow - 10)}}), "expired");
  EXPECT_EQ(time_failure({{"exp", static_cast<double>(kNow) + 10.5}}), "ok");
  EXPECT_EQ(time_failure({{"exp", static_cast<double>(kNow) - 10.5}}), "expired");
}

TEST(TimeClaimsTest, FarFutureExpWithSkewIsNotExpired) {
  // exp + skew must not overflow into the past.
  EXPECT_EQ(time_failure({{"exp", INT64_MAX}}, 60), "ok");
  EXPECT_EQ(time_failure({{"exp", UINT64_MAX}}, 60), "ok");
}

TEST(TimeClaimsTest, NonNumericTimeClaimsAreRefused) {
  // A token whose exp is not a NumericDate must not be treated as one that never expires.
  EXPECT_NE(time_failure({{"exp", "1600000000"}}), "ok");
  EXPECT_NE(time_failure({{"exp", nullptr}}), "ok");
  EXPECT_NE(time_failure({{"nbf", "9999999999"}}), "ok");
}

TEST(TimeClaimsTest, ErrorsCarryAMessage) {
  auto err = check_time_claims({{"exp", kNow}}, kNow, 0);
  ASSERT_TRUE(err.has_value());
  EXPECT_FALSE(err->message.empty());
  EXPECT_EQ(to_string(err->reason), "expired");
}

// --- base64url ---

TEST(Base64UrlTest, EncodesRfc4648VectorsWithoutPadding) {
  EXPECT_EQ(base64url_encode(""), "");
  EXPECT_EQ(base64url_encode("f"), "Zg");
  EXPECT_EQ(base64url_encode("fo"), "Zm8");
  EXPECT_EQ(base64url_encode("foo"), "Zm9v");
  EXPECT_EQ(base64url_encode("foob"), "Zm9vYg");
  EXPECT_EQ(base64url_encode("fooba"), "Zm9vYmE");
  EXPECT_EQ(base64url_encode("foobar"), "Zm9vYmFy");
}

TEST(Base64UrlTest, UsesTheUrlSafeAlphabet) {
  // 0xfb 0xff 0xbf is "+/+/" in standard base64.
  EXPECT_EQ(base64url_encode(std::string("\xfb\xff\xbf", 3)), "-_-_");
  EXPECT_EQ(base64url_decode("-_-_"), std::string("\xfb\xff\xbf", 3));
}

TEST(Base64UrlTest, DecodesRfc4648Vectors) {
  EXPECT_EQ(base64url_decode(""), "");
  EXPECT_EQ(base64url_decode("Zg"), "f");
  EXPECT_EQ(base64url_decode("Zm8"), "fo");
  EXPECT_EQ(base64url_decode("Zm9v"), "foo");
  EXPECT_EQ(base64url_decode("Zm9vYmFy"), "foobar");
  EXPECT_EQ(base64url_decode("eyJhbGciOiJIUzI1NiJ9"), R"({"alg":"HS256"})");
}

TEST(Base64UrlTest, RoundTripsEveryLengthAndEveryByte) {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  for (std::size_t len = 0; len <= all.size(); ++len) {
    const std::string in = all.substr(all.size() - len);
    const std::string encoded = base64url_encode(in);
    EXPECT_EQ(encoded.find_first_of("+/="), std::string::npos);
    const auto decoded = base64url_decode(encoded);
    ASSERT_TRUE(decoded.has_value()) << "length " << len;
    EXPECT_EQ(*decoded, in) << "length " << len;
  }
}

TEST(Base64UrlTest, RejectsCharactersOutsideTheUrlAlphabet) {
  for (const char* bad :
       {"ab+c", "ab/c", "Zg==", "Zm9v Yg", "Zm9v\nYg", "Zm9v.Yg", "Zm9v*A", "é"}) {
    SCOPED_TRACE(bad);
    EXPECT_EQ(base64url_decode(bad), std::nullopt);
  }
  EXPECT_EQ(base64url_decode(std::string("Zm\0v", 4)), std::nullopt);
}

TEST(Base64UrlTest, RejectsImpossibleLengths) {
  // 4n+1 characters cannot come from any byte string.
  EXPECT_EQ(base64url_decode("Z"), std::nullopt);
  EXPECT_EQ(base64url_decode("Zm9vY"), std::nullopt);
}

}  // namespace
}  // namespace realtime
