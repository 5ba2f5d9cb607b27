#include "core/rate_limiter.hpp"

#include <gtest/gtest.h>

namespace realtime {
namespace {

using namespace std::chrono_literals;

TEST(RateLimiterTest, AllowsABurstThenRefuses) {
  const auto t0 = RateLimiter::Clock::time_point{};
  const RateLimit limit{10, 3};
  RateLimiter limiter(limit, t0);
  EXPECT_TRUE(limiter.try_take(limit, t0));
  EXPECT_TRUE(limiter.try_take(limit, t0));
  EXPECT_TRUE(limiter.try_take(limit, t0));
  EXPECT_FALSE(limiter.try_take(limit, t0));
}

TEST(RateLimiterTest, RefillsAtTheRate) {
  const auto t0 = RateLimiter::Clock::time_point{};
  const RateLimit limit{10, 1};
  RateLimiter limiter(limit, t0);
  EXPECT_TRUE(limiter.try_take(limit, t0));
  EXPECT_FALSE(limiter.try_take(limit, t0 + 50ms));  // half a token
  EXPECT_TRUE(limiter.try_take(limit, t0 + 100ms));  // 0.5 + 0.5
  EXPECT_FALSE(limiter.try_take(limit, t0 + 110ms));
}

TEST(RateLimiterTest, NeverHoldsMoreThanTheBurst) {
  const auto t0 = RateLimiter::Clock::time_point{};
  const RateLimit limit{100, 2};
  RateLimiter limiter(limit, t0);
  const auto later = t0 + 1h;
  EXPECT_TRUE(limiter.try_take(limit, later));
  EXPECT_TRUE(limiter.try_take(limit, later));
  EXPECT_FALSE(limiter.try_take(limit, later));
}

}  // namespace
}  // namespace realtime
