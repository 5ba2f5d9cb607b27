#pragma once

#include <algorithm>
#include <chrono>

namespace realtime {

// A token bucket's parameters: `rate` tokens per second, holding at most `burst`. Shared by
// every bucket with the same limit (the configuration's), not kept in each.
struct RateLimit {
  double rate = 0;
  double burst = 0;
};

// Token bucket state: 16 bytes, small enough to live in every connection; the limit and the time
// are passed in so tests need no clock.
class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  // Starts full.
  RateLimiter(const RateLimit& limit, Clock::time_point now) : tokens_(limit.burst), last_(now) {}

  // Takes one token; false when the bucket is empty.
  bool try_take(const RateLimit& limit, Clock::time_point now) {
    const std::chrono::duration<double> elapsed = now - last_;
    last_ = now;
    tokens_ = std::min(limit.burst, tokens_ + elapsed.count() * limit.rate);
    if (tokens_ < 1.0) return false;
    tokens_ -= 1.0;
    return true;
  }

 private:
  double tokens_;
  Clock::time_point last_;
};

}  // namespace realtime
