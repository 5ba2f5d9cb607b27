// Hasura JWTs minted by another implementation (jose, see testdata/README.md) must be accepted
// or refused for exactly the stated reason.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <fstream>
#include <set>
#include <sstream>

#include "auth/hasura_jwt.hpp"
#include "auth/jwt.hpp"

namespace json = boost::json;

namespace realtime {
namespace {

struct Vector {
  std::string name;
  std::string config;
  std::string token;
  std::string role_header;
  std::string expect;
  std::string user_id;
  std::string role;
};

struct VectorFile {
  std::int64_t now = 0;
  json::object configs;
  std::vector<Vector> vectors;
};

const VectorFile& vector_file() {
  static const VectorFile file = [] {
    std::ifstream in(REALTIME_TESTDATA_DIR "/jwt_vectors.json");
    std::stringstream text;
    text << in.rdbuf();
    json::value root = json::parse(text.str());
    VectorFile f;
    f.now = root.at("now").to_number<std::int64_t>();
    f.configs = root.at("configs").as_object();
    for (const auto& v : root.at("vectors").as_array()) {
      const auto& o = v.as_object();
      auto str = [&](std::string_view k) {
        const json::value* x = o.if_contains(k);
        return x != nullptr && x->is_string() ? std::string(x->get_string()) : std::string{};
      };
      f.vectors.push_back({str("name"), str("config"), str("token"), str("role_header"),
                           str("expect"), str("user_id"), str("role")});
    }
    return f;
  }();
  return file;
}

class JwtVectorTest : public ::testing::TestWithParam<Vector> {};

TEST_P(JwtVectorTest, VerifiesAsStated) {
  const Vector& v = GetParam();
  const auto& file = vector_file();
  HasuraJwtVerifier verifier(
      parse_hasura_jwt_secret(std::string(file.configs.at(v.config).as_string())));
  auto result = verifier.verify(v.token, v.role_header, file.now);
  if (v.expect == "ok") {
    const auto* id = std::get_if<Identity>(&result);
    ASSERT_NE(id, nullptr) << "refused: " << std::get<AuthError>(result).message;
    EXPECT_EQ(id->user_id, v.user_id);
    EXPECT_EQ(id->role, v.role);
  } else {
    const auto* err = std::get_if<AuthError>(&result);
    ASSERT_NE(err, nullptr) << "accepted a token that must fail with " << v.expect;
    EXPECT_EQ(to_string(err->reason), v.expect) << err->message;
  }
}

INSTANTIATE_TEST_SUITE_P(Jose, JwtVectorTest, ::testing::ValuesIn(vector_file().vectors),
                         [](const auto& info) { return info.param.name; });

TEST(JwtVectorFileTest, CoversEveryRefusalAndAlgorithm) {
  std::set<std::string> expects, configs;
  for (const auto& v : vector_file().vectors) {
    expects.insert(v.expect);
    configs.insert(v.config);
  }
  for (const char* e : {"ok", "malformed", "bad_signature", "wrong_algorithm", "expired",
                        "not_yet_valid", "wrong_audience", "wrong_issuer", "missing_user_id"}) {
    EXPECT_TRUE(expects.count(e)) << e;
  }
  for (const char* c : {"hs256", "rs256", "es256"}) EXPECT_TRUE(configs.count(c)) << c;
}

TEST(JwtVerifierTest, EmptyTokenIsMissing) {
  HasuraJwtVerifier verifier(parse_hasura_jwt_secret(std::string(32, 'k')));
  auto result = verifier.verify("", "", 0);
  ASSERT_TRUE(std::holds_alternative<AuthError>(result));
  EXPECT_EQ(std::get<AuthError>(result).reason, AuthFailure::missing_token);
}

// Each thread keeps keyed HMAC contexts: a token must verify under its own key only, whatever
// keys came before, also past the cache's size (eviction) and across digests.
TEST(JwtHmacTest, KeyedContextsNeverMixKeys) {
  std::vector<std::string> keys;
  for (int i = 0; i < 12; ++i) keys.push_back(std::string(32, static_cast<char>('a' + i)));
  boost::json::object claims{{"sub", "u1"}};
  for (int round = 0; round < 3; ++round) {
    for (std::size_t i = 0; i < keys.size(); ++i) {
      const std::string token = sign_hs256(claims, keys[i]);
      EXPECT_TRUE(std::holds_alternative<boost::json::object>(
          decode_verified(token, JwtAlgorithm::HS256, keys[i])))
          << "key " << i << " round " << round;
      const auto& other = keys[(i + 1) % keys.size()];
      auto refused = decode_verified(token, JwtAlgorithm::HS256, other);
      ASSERT_TRUE(std::holds_alternative<AuthError>(refused));
      EXPECT_EQ(std::get<AuthError>(refused).reason, AuthFailure::bad_signature);
      // The same key under another digest is another context: the header names HS256, so
      // HS384 is refused before any HMAC, and the HS256 context stays usable.
      EXPECT_TRUE(
          std::holds_alternative<AuthError>(decode_verified(token, JwtAlgorithm::HS384, keys[i])));
    }
  }
  // The same claims and key sign to the same token every time (a reused context is reset).
  EXPECT_EQ(sign_hs256(claims, keys[0]), sign_hs256(claims, keys[0]));
}

}  // namespace
}  // namespace realtime
