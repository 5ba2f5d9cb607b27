#include "net/frame_ring.hpp"

#include <gtest/gtest.h>

#include <deque>
#include <random>
#include <string>

namespace realtime {
namespace {

FrameRing::Frame frame(int i) { return std::make_shared<const std::string>(std::to_string(i)); }

TEST(FrameRingTest, KeepsOrderAcrossGrowthAndWrapAround) {
  FrameRing ring;
  std::deque<int> model;
  std::mt19937 rng(7);
  int next = 0;
  for (int step = 0; step < 20000; ++step) {
    const int op = static_cast<int>(rng() % 10);
    if (op < 6 || model.empty()) {
      ring.push_back(frame(next));
      model.push_back(next++);
    } else if (op < 9) {
      ring.pop_front();
      model.pop_front();
    } else {
      ring.pop_back();
      model.pop_back();
    }
    ASSERT_EQ(ring.size(), model.size());
    if (!model.empty()) {
      ASSERT_EQ(*ring.front(), std::to_string(model.front()));
      ASSERT_EQ(*ring.back(), std::to_string(model.back()));
    }
  }
  for (std::size_t i = 0; i < model.size(); ++i) EXPECT_EQ(*ring[i], std::to_string(model[i]));
}

TEST(FrameRingTest, PoppedFramesAreReleased) {
  FrameRing ring;
  auto f = frame(1);
  ring.push_back(f);
  EXPECT_EQ(f.use_count(), 2);
  ring.pop_front();
  EXPECT_EQ(f.use_count(), 1);
}

TEST(FrameRingTest, AnEmptiedRingKeepsASmallArrayAndGivesBackABigOne) {
  FrameRing ring;
  for (int i = 0; i < 3; ++i) ring.push_back(frame(i));
  while (!ring.empty()) ring.pop_front();
  EXPECT_EQ(ring.capacity(), 4U);  // a chat connection's queue: no allocation per frame

  for (std::size_t i = 0; i <= FrameRing::kept_capacity; ++i) ring.push_back(frame(int(i)));
  EXPECT_GT(ring.capacity(), FrameRing::kept_capacity);
  ring.clear();
  EXPECT_EQ(ring.capacity(), 0U);
}

TEST(FrameRingTest, ReleaseFreesOnlyAnEmptyRing) {
  FrameRing ring;
  ring.push_back(frame(1));
  ring.release();
  ASSERT_EQ(ring.size(), 1U);
  EXPECT_EQ(*ring.front(), "1");
  EXPECT_GT(ring.capacity(), 0U);
  ring.pop_front();
  ring.release();
  EXPECT_EQ(ring.capacity(), 0U);
  ring.push_back(frame(2));  // usable again
  EXPECT_EQ(*ring.front(), "2");
}

TEST(FrameRingTest, ASweepReleasesOnlyARingNothingWasPushedToSinceTheLastOne) {
  FrameRing ring;
  ring.push_back(frame(1));
  ring.pop_front();
  ring.release_if_unused();  // a frame went through since the last sweep: kept
  EXPECT_GT(ring.capacity(), 0U);
  ring.release_if_unused();  // idle for a whole sweep: released
  EXPECT_EQ(ring.capacity(), 0U);

  ring.push_back(frame(2));
  ring.release_if_unused();
  ring.release_if_unused();  // not empty: a queued frame is never dropped
  ASSERT_EQ(ring.size(), 1U);
  EXPECT_EQ(*ring.front(), "2");
}

}  // namespace
}  // namespace realtime
