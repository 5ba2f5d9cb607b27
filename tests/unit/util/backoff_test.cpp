#include "util/backoff.hpp"

#include <gtest/gtest.h>

namespace realtime {
namespace {

using std::chrono::milliseconds;

TEST(BackoffTest, DoublesUpToTheCapWithTheMaximumDraw) {
  Backoff b(milliseconds(100), milliseconds(1000), [] { return ~std::uint64_t{0}; });
  std::vector<std::int64_t> got;
  for (int i = 0; i < 7; ++i) got.push_back(b.next().count());
  // The top of each range: delay/2 + (UINT64_MAX % (delay/2 + 1)).
  for (std::size_t i = 0; i < got.size(); ++i) {
    const std::int64_t delay = std::min<std::int64_t>(100LL << i, 1000);
    EXPECT_GE(got[i], delay - delay / 2) << i;
    EXPECT_LE(got[i], delay) << i;
  }
}

TEST(BackoffTest, EqualJitterStaysInTheUpperHalf) {
  std::uint64_t n = 0;
  Backoff b(milliseconds(200), milliseconds(200), [&] { return n++; });
  for (int i = 0; i < 300; ++i) {
    const auto d = b.next().count();
    EXPECT_GE(d, 100);
    EXPECT_LE(d, 200);
  }
}

TEST(BackoffTest, SmallestDrawGivesHalfTheDelay) {
  Backoff b(milliseconds(100), milliseconds(10000), [] { return std::uint64_t{0}; });
  EXPECT_EQ(b.next().count(), 50);
  EXPECT_EQ(b.next().count(), 100);
  EXPECT_EQ(b.next().count(), 200);
  EXPECT_EQ(b.attempts(), 3);
}

TEST(BackoffTest, ResetStartsOver) {
  Backoff b(milliseconds(100), milliseconds(10000), [] { return std::uint64_t{0}; });
  b.next();
  b.next();
  b.reset();
  EXPECT_EQ(b.attempts(), 0);
  EXPECT_EQ(b.next().count(), 50);
}

TEST(BackoffTest, NeverOverflowsAfterManyFailures) {
  Backoff b(milliseconds(100), milliseconds(5000), [] { return std::uint64_t{0}; });
  for (int i = 0; i < 1000; ++i) b.next();
  EXPECT_EQ(b.next().count(), 2500);
}

}  // namespace
}  // namespace realtime
