#pragma once

#include <boost/json/object.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// Key pairs an identity provider would hold, for tests of jwk_url: made fresh by OpenSSL,
// published as JWKs, used to sign tokens through libjwt (a signer that is not our verifier).
namespace realtime::testing {

enum class KeyKind { rsa2048, rsa1024, p256, p384 };

class SigningKey {
 public:
  explicit SigningKey(KeyKind kind);
  ~SigningKey();
  SigningKey(SigningKey&&) noexcept;
  SigningKey& operator=(SigningKey&&) noexcept;

  // The public key as a JWK: kty with n/e or crv/x/y, plus kid (when given), alg and use.
  boost::json::object Jwk(std::optional<std::string> kid, std::optional<std::string> alg = {},
                          std::optional<std::string> use = {}) const;
  std::string PublicPem() const;
  // A compact JWT of `claims` signed by libjwt with `alg` (header: alg, typ and kid when given).
  std::string Sign(const boost::json::object& claims, std::string_view alg,
                   std::optional<std::string> kid) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// {"keys":[...]} of `keys`.
std::string JwkSetJson(const std::vector<boost::json::object>& keys);

// A token whose header says `header_json` and whose signature is an HMAC-SHA256 keyed with `key`
// (to try HS/RS confusion and `none` against a key set).
std::string HmacToken(std::string_view header_json, const boost::json::object& claims,
                      std::string_view key);

// Claims of a Hasura JWT for `user`, valid for an hour around `now`.
boost::json::object HasuraClaims(const std::string& user, std::int64_t now);

}  // namespace realtime::testing
