#include "redis/redis_token_claims.hpp"

#include <hiredis/hiredis.h>

#include <boost/asio/post.hpp>

#include "broker/redis_broker.hpp"

namespace realtime {

void RedisTokenClaims::claim(std::string_view jti, std::int64_t expires_at,
                             std::function<void(Result)> done) {
  boost::asio::post(
      broker_.loop(), [this, jti = std::string(jti), expires_at, done = std::move(done)]() mutable {
        // Remembered until the token expires anyway (at least a second: EX must be positive).
        const auto ttl = std::max<std::int64_t>(1, expires_at - unix_seconds() + 1);
        const std::string key = broker_.prefix() + "jti:" + jti;
        broker_.command_for_key(
            key, {"SET", key, "1", "NX", "EX", std::to_string(ttl)},
            [done = std::move(done)](const redisReply* reply) {
              if (reply == nullptr || reply_is_error(*reply)) return done(Result::unavailable);
              done(reply->type == REDIS_REPLY_NIL ? Result::replayed : Result::first_use);
            });
      });
}

}  // namespace realtime
