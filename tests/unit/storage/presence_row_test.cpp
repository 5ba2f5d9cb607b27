#include "storage/presence_row.hpp"

#include <gtest/gtest.h>

#include <string>

namespace realtime::storage {
namespace {

TEST(StorableUserIdTest, AcceptsOrdinaryIdsAndUtf8) {
  EXPECT_TRUE(storable_user_id("alice"));
  EXPECT_TRUE(storable_user_id("4f0c1c0e-8c7a-4a43-9a57-3f0f3b1e2a11"));
  EXPECT_TRUE(storable_user_id("Zoë 🎉"));
  EXPECT_TRUE(storable_user_id(std::string(255, 'a')));
}

TEST(StorableUserIdTest, RefusesWhatTheTableCannotHold) {
  EXPECT_FALSE(storable_user_id(""));
  EXPECT_FALSE(storable_user_id(std::string(256, 'a')));
  EXPECT_FALSE(storable_user_id(std::string("a\0b", 3)));
  EXPECT_FALSE(storable_user_id("\xff"));
  EXPECT_FALSE(storable_user_id("\xc3"));              // truncated sequence
  EXPECT_FALSE(storable_user_id("\xc0\xaf"));          // overlong
  EXPECT_FALSE(storable_user_id("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(storable_user_id("\xf4\x90\x80\x80"));  // above U+10FFFF
}

}  // namespace
}  // namespace realtime::storage
