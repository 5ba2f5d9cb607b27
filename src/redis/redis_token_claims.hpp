#pragma once

#include "auth/security.hpp"

namespace realtime {

class RedisBroker;

// Single use of connection tokens across nodes: `SET <prefix>jti:<jti> 1 NX EX <ttl>`.
class RedisTokenClaims final : public TokenClaims {
 public:
  explicit RedisTokenClaims(RedisBroker& broker) : broker_(broker) {}
  void claim(std::string_view jti, std::int64_t expires_at,
             std::function<void(Result)> done) override;

 private:
  RedisBroker& broker_;
};

}  // namespace realtime
