#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "auth/jwt.hpp"

namespace realtime {

// HASURA_GRAPHQL_JWT_SECRET, in Hasura's own format.
struct HasuraJwtConfig {
  JwtAlgorithm algorithm = JwtAlgorithm::HS256;
  std::string key;  // shared secret, or PEM public key / certificate
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

// Verifies a Hasura JWT and extracts who it speaks for. Pure apart from libjwt's signature check.
class HasuraJwtVerifier {
 public:
  explicit HasuraJwtVerifier(HasuraJwtConfig config) : config_(std::move(config)) {}

  // `role_header` is the request's X-Hasura-Role (empty when absent); `now` in Unix seconds.
  VerifyResult verify(std::string_view token, std::string_view role_header, std::int64_t now) const;

 private:
  HasuraJwtConfig config_;
};

}  // namespace realtime
