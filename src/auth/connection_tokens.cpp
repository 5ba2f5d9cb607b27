#include "auth/connection_tokens.hpp"

#include <openssl/rand.h>

#include <boost/json/value.hpp>

#include <stdexcept>

namespace json = boost::json;

namespace realtime {
namespace {

std::string random_hex(std::size_t bytes) {
  std::string raw(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1) {
    throw std::runtime_error("RAND_bytes failed");
  }
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : raw) {
    out += hex[c >> 4];
    out += hex[c & 0xf];
  }
  return out;
}

}  // namespace

std::string random_token_secret() { return random_hex(32); }

std::string ConnectionTokens::issue(const Subject& subject, std::int64_t now) const {
  json::object claims;
  claims["iss"] = issuer;
  claims["sub"] = subject.user_id;
  claims["role"] = subject.role;
  if (!subject.grants.empty()) {
    json::array grants;
    for (const auto& g : subject.grants) grants.emplace_back(g);
    claims["topics"] = std::move(grants);
  }
  // The connection's own end (the identity's), apart from this token's short exp.
  if (subject.expires_at > 0) claims["cexp"] = subject.expires_at;
  claims["iat"] = now;
  claims["exp"] = now + ttl_seconds_;
  claims["jti"] = random_hex(16);
  return sign_hs256(claims, secret_);
}

std::variant<ConnectionClaims, AuthError> ConnectionTokens::verify(std::string_view token,
                                                                   std::int64_t now) const {
  auto decoded = decode_verified(token, JwtAlgorithm::HS256, secret_);
  if (auto* err = std::get_if<AuthError>(&decoded)) return std::move(*err);
  const json::object& claims = std::get<json::object>(decoded);
  const json::value* iss = claims.if_contains("iss");
  const json::value* sub = claims.if_contains("sub");
  const json::value* role = claims.if_contains("role");
  const json::value* jti = claims.if_contains("jti");
  const json::value* exp = claims.if_contains("exp");
  // Signed by us, so a shape mismatch means a Hasura JWT (or another token) sent by mistake.
  if (iss == nullptr || !iss->is_string() || iss->get_string() != issuer || sub == nullptr ||
      !sub->is_string() || role == nullptr || !role->is_string() || jti == nullptr ||
      !jti->is_string() || exp == nullptr || !exp->is_int64()) {
    return AuthError{AuthFailure::malformed, "not a connection token from POST /realtime/token"};
  }
  // Nodes' clocks differ a little: a token minted on one node is checked on another.
  constexpr std::int64_t clock_skew = 5;
  if (auto err = check_time_claims(claims, now, clock_skew)) return std::move(*err);
  ConnectionClaims out;
  out.subject.user_id = std::string(sub->get_string());
  out.subject.role = std::string(role->get_string());
  if (const json::value* topics = claims.if_contains("topics"); topics && topics->is_array()) {
    for (const auto& t : topics->get_array()) {
      if (t.is_string()) out.subject.grants.emplace_back(t.get_string());
    }
  }
  if (const json::value* cexp = claims.if_contains("cexp"); cexp && cexp->is_int64()) {
    out.subject.expires_at = cexp->get_int64();
  }
  out.jti = std::string(jti->get_string());
  out.expires_at = exp->get_int64();
  return out;
}

bool MemoryUsedTokens::first_use(std::string_view jti, std::int64_t expires_at, std::int64_t now) {
  std::lock_guard lock(mutex_);
  if (now >= next_purge_) {
    // Expired ids can't be replayed (the token is refused as expired), so they may go.
    std::erase_if(used_, [now](const auto& entry) { return entry.second < now; });
    next_purge_ = now + 10;
  }
  return used_.emplace(std::string(jti), expires_at).second;
}

}  // namespace realtime
