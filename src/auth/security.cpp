#include "auth/security.hpp"

#include <chrono>
#include <random>

namespace realtime {

std::int64_t unix_seconds() {
  using namespace std::chrono;
  return duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
}

namespace {
Subject subject_of(Identity id) {
  return Subject{std::move(id.user_id), std::move(id.role), {}, id.expires_at};
}
}  // namespace

std::string anonymous_user_id() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char hex[] = "0123456789abcdef";
  std::string out = "anon-";
  auto bits = rng();
  for (int i = 0; i < 10; ++i, bits >>= 4) out += hex[bits & 0xf];
  return out;
}

Security::Security(std::optional<HasuraJwtConfig> hasura, std::string token_secret,
                   int token_ttl_seconds, std::unique_ptr<UsedTokens> used,
                   std::shared_ptr<JwksSource> jwks)
    : tokens_(std::move(token_secret), token_ttl_seconds),
      used_(std::move(used)),
      jwks_(std::move(jwks)) {
  if (hasura) hasura_.emplace(std::move(*hasura), jwks_);
}

void Security::subject_from_hasura(
    std::string_view jwt, std::string_view role_header, std::int64_t now,
    std::function<void(std::variant<Subject, AuthError>)> done) const {
  if (!hasura_) return done(subject_from_hasura(jwt, role_header, now));
  hasura_->verify_async(std::string(jwt), std::string(role_header), now,
                        [done = std::move(done)](VerifyResult result) {
                          if (auto* err = std::get_if<AuthError>(&result)) {
                            return done(std::move(*err));
                          }
                          done(subject_of(std::move(std::get<Identity>(result))));
                        });
}

std::optional<JwksStatus> Security::jwks_status() const {
  if (!jwks_) return std::nullopt;
  return jwks_->status();
}

std::variant<Subject, AuthError> Security::subject_from_hasura(std::string_view jwt,
                                                               std::string_view role_header,
                                                               std::int64_t now) const {
  if (!hasura_) {
    return AuthError{AuthFailure::malformed,
                     "this server has no HASURA_GRAPHQL_JWT_SECRET: it cannot verify Hasura JWTs"};
  }
  auto result = hasura_->verify(jwt, role_header, now);
  if (auto* err = std::get_if<AuthError>(&result)) return std::move(*err);
  return subject_of(std::move(std::get<Identity>(result)));
}

std::string Security::issue(const Subject& subject, std::int64_t now) const {
  return tokens_.issue(subject, now);
}

std::variant<ConnectionClaims, AuthError> Security::admit(std::string_view token,
                                                          std::int64_t now) {
  auto result = tokens_.verify(token, now);
  if (auto* err = std::get_if<AuthError>(&result)) return std::move(*err);
  auto& claims = std::get<ConnectionClaims>(result);
  if (!used_->first_use(claims.jti, claims.expires_at, now)) {
    return AuthError{AuthFailure::replayed, "this connection token was already used"};
  }
  return std::move(claims);
}

std::variant<Subject, AuthError> Security::identify(std::string_view token,
                                                    std::string_view role_header,
                                                    std::int64_t now) const {
  auto ours = tokens_.verify(token, now);
  if (auto* claims = std::get_if<ConnectionClaims>(&ours)) return std::move(claims->subject);
  const auto& err = std::get<AuthError>(ours);
  // Ours but no longer valid: say so rather than what the Hasura check would say.
  if (err.reason == AuthFailure::expired || err.reason == AuthFailure::not_yet_valid || !hasura_) {
    return err;
  }
  return subject_from_hasura(token, role_header, now);
}

}  // namespace realtime
