#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>

#include "auth/access_rules.hpp"
#include "auth/jwt.hpp"

namespace realtime {

struct ConnectionClaims {
  Subject subject;
  std::string jti;
  std::int64_t expires_at = 0;  // Unix seconds
};

// Short-lived connection tokens: HS256 JWTs signed with REALTIME_TOKEN_SECRET, scoped to one user,
// carrying their role and any extra topic grants, with a unique `jti` so each is used once.
class ConnectionTokens {
 public:
  static constexpr std::string_view issuer = "nself-realtime";

  ConnectionTokens(std::string secret, int ttl_seconds)
      : secret_(std::move(secret)), ttl_seconds_(ttl_seconds) {}

  int ttl_seconds() const { return ttl_seconds_; }
  std::string issue(const Subject& subject, std::int64_t now) const;
  std::variant<ConnectionClaims, AuthError> verify(std::string_view token, std::int64_t now) const;

 private:
  std::string secret_;
  int ttl_seconds_;
};

// Remembers used token ids until they expire, so a token can open one connection only.
class UsedTokens {
 public:
  virtual ~UsedTokens() = default;
  // True the first time `jti` is seen; false for a replay. Thread-safe.
  virtual bool first_use(std::string_view jti, std::int64_t expires_at, std::int64_t now) = 0;
};

class MemoryUsedTokens final : public UsedTokens {
 public:
  bool first_use(std::string_view jti, std::int64_t expires_at, std::int64_t now) override;

 private:
  std::mutex mutex_;
  std::unordered_map<std::string, std::int64_t> used_;  // jti -> expires_at
  std::int64_t next_purge_ = 0;
};

std::string random_token_secret();

}  // namespace realtime
