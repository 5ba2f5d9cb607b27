#include "util/url_mask.hpp"

#include <gtest/gtest.h>

namespace realtime {
namespace {

TEST(UrlMaskTest, MasksTheUserinfoPassword) {
  EXPECT_EQ(mask_url_password("redis://app:s3cret@h:6380/4"), "redis://app:****@h:6380/4");
  EXPECT_EQ(mask_url_password("redis://:s3cret@h"), "redis://:****@h");
  EXPECT_EQ(mask_url_password("postgres://u:p@ss@db/x"), "postgres://u:****@db/x");
}

TEST(UrlMaskTest, LeavesUrlsWithoutPasswordAlone) {
  for (const char* url : {"redis://h:6379", "postgres://alice@db/chat", "unix:///run/redis.sock",
                          "sqlite:./x.db", "not a url", "postgres://h/db@x", ""}) {
    EXPECT_EQ(mask_url_password(url), url);
  }
}

// The fixture database_url_fuzz found: libpq reads "e:hunter2t?ster2" as the password.
TEST(UrlMaskTest, APasswordMayHoldQuestionMarksAndHashes) {
  EXPECT_EQ(mask_url_password("postgres://alic:e:hunter2t?ster2@db:5432/chat?sslmode=verify-full"),
            "postgres://alic:****@db:5432/chat?sslmode=verify-full");
  EXPECT_EQ(mask_url_password("redis://u:a#b?c@h?db=1"), "redis://u:****@h?db=1");
}

TEST(UrlMaskTest, MasksPasswordParametersByTheirDecodedName) {
  EXPECT_EQ(mask_url_password("postgresql://db/c?user=a&password=x&sslmode=require"),
            "postgresql://db/c?user=a&password=****&sslmode=require");
  EXPECT_EQ(mask_url_password("redis+sentinel://s1,s2/m?sentinel_password=x&db=1"),
            "redis+sentinel://s1,s2/m?sentinel_password=****&db=1");
  EXPECT_EQ(mask_url_password("unix:///s.sock?db=3&pass%77ord=pw#f"),
            "unix:///s.sock?db=3&pass%77ord=****");
  EXPECT_EQ(mask_url_password("redis://u:p@h?password=q&password=r"),
            "redis://u:****@h?password=****&password=****");
  EXPECT_EQ(mask_url_password("redis://h?x=password=y&"), "redis://h?x=password=y&");
}

// Found by database_url_fuzz: libpq reads "a" as the user and "set-plic@db/chat" as the
// password parameter; the widest userinfo reading found no ':' and the query was missed.
TEST(UrlMaskTest, APasswordParameterMayHoldAtSignsAndSlashes) {
  EXPECT_EQ(mask_url_password("postgres://a@132,h?user=a&password=set-plic@db/chat"),
            "postgres://a@132,h?user=a&password=****");
}

}  // namespace
}  // namespace realtime
