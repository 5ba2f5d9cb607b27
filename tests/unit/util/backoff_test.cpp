#include "util/backoff.hpp"

#include <gtest/gtest.h>

#include <set>

namespace realtime {
namespace {

using std::chrono::milliseconds;

TEST(BackoffTest, CeilingDoublesUpToTheCap) {
  Backoff b(milliseconds(100), milliseconds(5000));
  EXPECT_EQ(b.ceiling_for(0), milliseconds(100));
  EXPECT_EQ(b.ceiling_for(1), milliseconds(200));
  EXPECT_EQ(b.ceiling_for(5), milliseconds(3200));
  EXPECT_EQ(b.ceiling_for(6), milliseconds(5000));
  EXPECT_EQ(b.ceiling_for(1000), milliseconds(5000));
}

TEST(BackoffTest, DelaysStayWithinTheCeilingAndAreJittered) {
  Backoff b(milliseconds(100), milliseconds(5000));
  std::set<long long> seen;
  for (int i = 0; i < 200; ++i) {
    const int attempt = b.attempt();
    const auto d = b.next();
    EXPECT_GE(d.count(), 0);
    EXPECT_LE(d, b.ceiling_for(attempt));
    seen.insert(d.count());
  }
  EXPECT_GT(seen.size(), 50u);  // full jitter, not a fixed schedule
}

TEST(BackoffTest, ResetStartsOver) {
  Backoff b(milliseconds(100), milliseconds(5000));
  for (int i = 0; i < 10; ++i) b.next();
  EXPECT_EQ(b.attempt(), 10);
  b.reset();
  EXPECT_EQ(b.attempt(), 0);
  EXPECT_LE(b.next(), milliseconds(100));
}

}  // namespace
}  // namespace realtime
