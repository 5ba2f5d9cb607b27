#include "auth/jwks_refresh.hpp"

#include <gtest/gtest.h>

namespace realtime {
namespace {

using std::chrono::seconds;

constexpr std::int64_t kNow = 784111777;  // Sun, 06 Nov 1994 08:49:37 GMT (RFC 9110's example)

TEST(CacheControlTest, MaxAgeIsReadFromAnyPosition) {
  EXPECT_EQ(cache_control_max_age("max-age=60"), 60);
  EXPECT_EQ(cache_control_max_age("public, max-age=19977, must-revalidate, no-transform"), 19977);
  EXPECT_EQ(cache_control_max_age("public,max-age=15,stale-while-revalidate=15"), 15);
  EXPECT_EQ(cache_control_max_age("Max-Age=30"), 30);
  EXPECT_EQ(cache_control_max_age("max-age=\"45\""), 45);
  EXPECT_EQ(cache_control_max_age(" , ,max-age=0"), 0);
}

TEST(CacheControlTest, SMaxageIsTheFallback) {
  EXPECT_EQ(cache_control_max_age("public, s-maxage=30"), 30);
  EXPECT_EQ(cache_control_max_age("s-maxage=30, max-age=60"), 60);
}

TEST(CacheControlTest, InvalidOrMissingValuesAreNone) {
  EXPECT_EQ(cache_control_max_age(""), std::nullopt);
  EXPECT_EQ(cache_control_max_age("public"), std::nullopt);
  EXPECT_EQ(cache_control_max_age("max-age"), std::nullopt);
  EXPECT_EQ(cache_control_max_age("max-age="), std::nullopt);
  EXPECT_EQ(cache_control_max_age("max-age=-1"), std::nullopt);
  EXPECT_EQ(cache_control_max_age("max-age=1h"), std::nullopt);
  EXPECT_EQ(cache_control_max_age("max-age=1.5"), std::nullopt);
  EXPECT_EQ(cache_control_max_age("xmax-age=10"), std::nullopt);
  // A quoted comma does not split directives.
  EXPECT_EQ(cache_control_max_age(R"(private="a,max-age=5")"), std::nullopt);
}

TEST(CacheControlTest, HugeNumbersSaturate) {
  EXPECT_EQ(cache_control_max_age("max-age=99999999999999999999999"), INT64_MAX);
}

TEST(CacheControlTest, NoCacheAndNoStoreAreSeen) {
  EXPECT_TRUE(cache_control_no_cache("no-cache"));
  EXPECT_TRUE(cache_control_no_cache("private, No-Store"));
  EXPECT_TRUE(cache_control_no_cache(R"(no-cache="set-cookie")"));
  EXPECT_FALSE(cache_control_no_cache("public, max-age=5, must-revalidate"));
  EXPECT_FALSE(cache_control_no_cache(""));
}

TEST(HttpDateTest, TheThreeFormatsOfRfc9110) {
  EXPECT_EQ(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), kNow);
  EXPECT_EQ(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), kNow);
  EXPECT_EQ(parse_http_date("Sun Nov  6 08:49:37 1994"), kNow);
  EXPECT_EQ(parse_http_date("  Sun, 06 Nov 1994 08:49:37 GMT "), kNow);
}

TEST(HttpDateTest, AnythingElseIsNoDate) {
  for (std::string_view bad : {"", "0", "-1", "yesterday", "Sun, 06 Nov 1994 08:49:37",
                               "Sun, 06 Nov 1994 08:49:37 GMT trailing", "2024-01-01T00:00:00Z",
                               "Sun, 32 Nov 1994 08:49:37 GMT"}) {
    EXPECT_EQ(parse_http_date(bad), std::nullopt) << bad;
  }
}

TEST(JwksFreshForTest, MaxAgeWinsAndIsClamped) {
  EXPECT_EQ(jwks_fresh_for("max-age=300", "Sun, 06 Nov 1994 09:49:37 GMT", "", kNow), seconds(300));
  EXPECT_EQ(jwks_fresh_for("max-age=0", "", "", kNow), seconds(5));
  EXPECT_EQ(jwks_fresh_for("max-age=99999999", "", "", kNow), seconds(86400));
  EXPECT_EQ(jwks_fresh_for("max-age=99999999999999999999999", "", "", kNow), seconds(86400));
}

TEST(JwksFreshForTest, NoCacheMeansTheMinimum) {
  EXPECT_EQ(jwks_fresh_for("no-cache", "Sun, 06 Nov 1994 09:49:37 GMT", "", kNow), seconds(5));
  EXPECT_EQ(jwks_fresh_for("no-store", "", "", kNow), seconds(5));
}

TEST(JwksFreshForTest, ExpiresCountsFromTheServersDate) {
  // An hour after the server's Date, whatever our clock says.
  EXPECT_EQ(jwks_fresh_for("", "Sun, 06 Nov 1994 09:49:37 GMT", "Sun, 06 Nov 1994 08:49:37 GMT",
                           kNow + 100000),
            seconds(3600));
  // Without a Date, from now.
  EXPECT_EQ(jwks_fresh_for("public", "Sun, 06 Nov 1994 09:49:37 GMT", "", kNow + 600),
            seconds(3000));
  // In the past, or not a date (RFC 9111 §5.3: already expired).
  EXPECT_EQ(jwks_fresh_for("", "Sun, 06 Nov 1994 08:00:00 GMT", "", kNow), seconds(5));
  EXPECT_EQ(jwks_fresh_for("", "0", "", kNow), seconds(5));
}

TEST(JwksFreshForTest, WithoutHeadersTheFallback) {
  EXPECT_EQ(jwks_fresh_for("", "", "", kNow), seconds(600));
  EXPECT_EQ(jwks_fresh_for("public, must-revalidate", "", "", kNow), seconds(600));
  JwksRefreshLimits limits;
  limits.fallback = seconds(42);
  EXPECT_EQ(jwks_fresh_for("", "", "", kNow, limits), seconds(42));
}

TEST(RefetchGateTest, OnePassPerInterval) {
  RefetchGate gate(seconds(10));
  const auto t0 = std::chrono::steady_clock::time_point{} + std::chrono::hours(1);
  EXPECT_TRUE(gate.try_pass(t0));
  EXPECT_FALSE(gate.try_pass(t0));
  EXPECT_FALSE(gate.try_pass(t0 + seconds(9)));
  EXPECT_TRUE(gate.try_pass(t0 + seconds(10)));
  EXPECT_FALSE(gate.try_pass(t0 + seconds(19)));
  EXPECT_TRUE(gate.try_pass(t0 + seconds(25)));
}

}  // namespace
}  // namespace realtime
