#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "redis/redis_connection.hpp"
#include "redis/redis_endpoint.hpp"

namespace realtime {

// Where a Sentinel-managed master is. Asks one sentinel at a time (SENTINEL
// GET-MASTER-ADDR-BY-NAME), moving on to the next when one cannot be reached or does not know
// the master, and listens on the one that answered for +switch-master. Every method runs on the
// loop's thread.
class SentinelWatch {
 public:
  SentinelWatch(boost::asio::io_context& io, RedisEndpoint endpoint);
  ~SentinelWatch();
  SentinelWatch(const SentinelWatch&) = delete;
  SentinelWatch& operator=(const SentinelWatch&) = delete;

  // Called whenever the master's address changes (the first answer included).
  void on_master(std::function<void(const RedisAddress&)> f) { on_master_ = std::move(f); }
  void start();
  void stop();
  const std::optional<RedisAddress>& master() const { return master_; }
  // The address we were given is not the master (a failover under way, or news we missed):
  // ask again, at most once a second.
  void refresh(std::string_view why);

 private:
  void connect(std::size_t index);
  void on_ready();
  void on_answer(const redisReply* reply);
  void on_push(const redisReply& push);
  void set_master(RedisAddress address, std::string_view source);
  void schedule_check();
  void miss(const std::string& what);

  RedisEndpoint endpoint_;
  std::vector<std::unique_ptr<RedisConnection>> connections_;  // one per sentinel
  std::size_t index_ = 0;                                      // the one asked now
  boost::asio::steady_timer check_timer_;
  // When the current sentinel last stopped being useful; moved on from after a grace period.
  std::chrono::steady_clock::time_point unanswered_since_;
  bool answered_ = false;
  std::size_t misses_ = 0;  // sentinels in a row that gave no answer
  std::chrono::steady_clock::time_point refreshed_at_;
  std::optional<RedisAddress> master_;
  std::function<void(const RedisAddress&)> on_master_;
};

}  // namespace realtime
