#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "auth/access_rules.hpp"
#include "auth/connection_tokens.hpp"
#include "auth/hasura_jwt.hpp"

namespace realtime {

// Everything that decides who a caller is: Hasura JWTs in, connection tokens out, single use of
// tokens. (What they may do is the Authorizer's.) Thread-safe (UsedTokens locks; the rest is
// immutable).
class Security {
 public:
  // `jwks`: the key source of a jwk_url configuration (a JwksFetcher); null otherwise.
  Security(std::optional<HasuraJwtConfig> hasura, std::string token_secret, int token_ttl_seconds,
           std::unique_ptr<UsedTokens> used, std::shared_ptr<JwksSource> jwks = nullptr);

  bool has_hasura() const { return hasura_.has_value(); }
  int token_ttl_seconds() const { return tokens_.ttl_seconds(); }

  std::variant<Subject, AuthError> subject_from_hasura(std::string_view jwt,
                                                       std::string_view role_header,
                                                       std::int64_t now) const;
  // The same, for POST /realtime/token: a kid missing from a jwk_url key set waits for the
  // refetch it causes. `done` runs exactly once, on any thread (maybe inside this call).
  void subject_from_hasura(std::string_view jwt, std::string_view role_header, std::int64_t now,
                           std::function<void(std::variant<Subject, AuthError>)> done) const;
  std::string issue(const Subject& subject, std::int64_t now) const;
  // The jwk_url key set's state; nullopt without jwk_url.
  std::optional<JwksStatus> jwks_status() const;

  // A connection token presented at connect: valid, and never used before on this node (a
  // cluster also checks the jti in Redis, see TokenClaims).
  std::variant<ConnectionClaims, AuthError> admit(std::string_view token, std::int64_t now);

  // A bearer token presented to a read endpoint: a connection token (not consumed) or a Hasura
  // JWT.
  std::variant<Subject, AuthError> identify(std::string_view token, std::string_view role_header,
                                            std::int64_t now) const;

 private:
  std::optional<HasuraJwtVerifier> hasura_;
  ConnectionTokens tokens_;
  std::unique_ptr<UsedTokens> used_;
  std::shared_ptr<JwksSource> jwks_;
};

// Cluster-wide single use of connection tokens: a token used on node A is refused on node B.
class TokenClaims {
 public:
  enum class Result { first_use, replayed, unavailable };
  virtual ~TokenClaims() = default;
  // `done` runs once, on any thread.
  virtual void claim(std::string_view jti, std::int64_t expires_at,
                     std::function<void(Result)> done) = 0;
};

std::int64_t unix_seconds();

// A random user id for an anonymous dev-mode client: "anon-" and 10 hex digits.
std::string anonymous_user_id();

}  // namespace realtime
