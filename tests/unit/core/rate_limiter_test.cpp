#include "core/rate_limiter.hpp"

#include <gtest/gtest.h>

namespace realtime {
namespace {

using namespace std::chrono_literals;

TEST(RateLimiterTest, AllowsABurstThenRefuses) {
  const auto t0 = RateLimiter::Clock::time_point{};
  RateLimiter limiter(10, 3, t0);
  EXPECT_TRUE(limiter.try_take(t0));
  EXPECT_TRUE(limiter.try_take(t0));
  EXPECT_TRUE(limiter.try_take(t0));
  EXPECT_FALSE(limiter.try_take(t0));
}

TEST(RateLimiterTest, RefillsAtTheRate) {
  const auto t0 = RateLimiter::Clock::time_point{};
  RateLimiter limiter(10, 1, t0);
  EXPECT_TRUE(limiter.try_take(t0));
  EXPECT_FALSE(limiter.try_take(t0 + 50ms));  // half a token
  EXPECT_TRUE(limiter.try_take(t0 + 100ms));  // 0.5 + 0.5
  EXPECT_FALSE(limiter.try_take(t0 + 110ms));
}

TEST(RateLimiterTest, NeverHoldsMoreThanTheBurst) {
  const auto t0 = RateLimiter::Clock::time_point{};
  RateLimiter limiter(100, 2, t0);
  const auto later = t0 + 1h;
  EXPECT_TRUE(limiter.try_take(later));
  EXPECT_TRUE(limiter.try_take(later));
  EXPECT_FALSE(limiter.try_take(later));
}

}  // namespace
}  // namespace realtime
