#include "presence/redis_typing_directory.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>

#include "broker/redis_broker.hpp"
#include "util/clock.hpp"

namespace net = boost::asio;

namespace realtime {

void RedisTypingDirectory::record(const std::vector<TypingChange>& changes) {
  net::post(broker_.loop(), [this, changes] {
    // A stop that is a little late (the tracker's 250 ms tick) must not drop off early.
    const auto deadline = unix_millis() + std::chrono::milliseconds(timeout_).count() + 1000;
    for (const auto& c : changes) {
      const std::string key = broker_.prefix() + "typing:" + c.topic;
      if (c.typing) {
        broker_.command_for_key(key, {"ZADD", key, std::to_string(deadline), c.user_id}, nullptr);
        broker_.command_for_key(
            key,
            {"PEXPIRE", key,
             std::to_string(2 * std::chrono::milliseconds(timeout_).count() + 1000)},
            nullptr);
      } else {
        broker_.command_for_key(key, {"ZREM", key, c.user_id}, nullptr);
      }
    }
  });
}

void RedisTypingDirectory::typing_in(std::string_view topic,
                                     std::function<void(std::vector<std::string>)> done) {
  net::post(broker_.loop(), [this, t = std::string(topic), done = std::move(done)]() mutable {
    const std::string key = broker_.prefix() + "typing:" + t;
    broker_.command_for_key(key, {"ZRANGEBYSCORE", key, std::to_string(unix_millis()), "+inf"},
                            [done = std::move(done)](const redisReply* reply) {
                              std::vector<std::string> users;
                              if (reply != nullptr && reply_is_array(*reply)) {
                                for (std::size_t i = 0; i < reply_size(*reply); ++i) {
                                  users.emplace_back(reply_string(reply_at(*reply, i)));
                                }
                              }
                              std::sort(users.begin(), users.end());
                              done(std::move(users));
                            });
  });
}

}  // namespace realtime
