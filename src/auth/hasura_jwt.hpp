#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "auth/jwks.hpp"
#include "auth/jwt.hpp"

namespace realtime {

// HASURA_GRAPHQL_JWT_SECRET, in Hasura's own format.
struct HasuraJwtConfig {
  JwtAlgorithm algorithm = JwtAlgorithm::HS256;
  std::string key;  // shared secret, or PEM public key / certificate
  // Non-empty: the keys come from this JWK Set URL (http or https), not from `key`.
  std::string jwk_url;
  // With jwk_url and no "type": any of RS256/384/512, ES256/384 that the token's key allows.
  bool any_jwk_algorithm = false;
  std::string claims_namespace = "https://hasura.io/jwt/claims";
  std::string claims_namespace_path;  // JSONPath like $.a.b; wins over claims_namespace
  bool stringified_claims = false;    // claims_format: stringified_json
  std::vector<std::string> audience;  // any one must appear in `aud`
  std::string issuer;
  std::int64_t allowed_skew = 0;  // seconds
};

// Parses the env var's value. A plain string (not a JSON object) is an HS256 secret.
// Throws ConfigError naming what is wrong.
HasuraJwtConfig parse_hasura_jwt_secret(std::string_view value);

struct Identity {
  std::string user_id;
  std::string role;  // the active role
  std::vector<std::string> allowed_roles;
  std::int64_t expires_at = 0;  // the token's exp (Unix seconds); 0 when it has none
};

using VerifyResult = std::variant<Identity, AuthError>;

// Verifies a Hasura JWT and extracts who it speaks for. Pure apart from libjwt's signature check
// (and, with jwk_url, the key source it is given).
class HasuraJwtVerifier {
 public:
  // `jwks` is where a jwk_url configuration's keys come from; without one such tokens are
  // refused as unknown_key.
  explicit HasuraJwtVerifier(HasuraJwtConfig config, std::shared_ptr<JwksSource> jwks = nullptr)
      : config_(std::move(config)), jwks_(std::move(jwks)) {}

  // `role_header` is the request's X-Hasura-Role (empty when absent); `now` in Unix seconds.
  // A kid missing from the key set asks the source for a refetch and is refused now.
  VerifyResult verify(std::string_view token, std::string_view role_header, std::int64_t now) const;
  // The same, but a kid missing from the key set waits for the refetch it causes and is then
  // verified once more. `done` runs exactly once, on any thread (maybe inside this call).
  void verify_async(std::string token, std::string role_header, std::int64_t now,
                    std::function<void(VerifyResult)> done) const;

 private:
  std::variant<boost::json::object, AuthError> verified_claims(std::string_view token) const;
  std::variant<boost::json::object, AuthError> verified_by_jwks(std::string_view token) const;
  VerifyResult identity(const boost::json::object& claims, std::string_view role_header,
                        std::int64_t now) const;

  HasuraJwtConfig config_;
  std::shared_ptr<JwksSource> jwks_;
};

}  // namespace realtime
