#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace realtime {

// When to fetch a jwk_url key set again. Hasura refreshes when the response's Cache-Control
// max-age (or s-maxage), else its Expires, says the set goes stale; we do the same, within bounds
// so that a provider can neither make us hammer it nor keep a revoked key for weeks.
struct JwksRefreshLimits {
  std::chrono::seconds min{5};
  std::chrono::seconds max{std::chrono::hours(24)};
  std::chrono::seconds fallback{std::chrono::minutes(10)};  // no max-age and no Expires
};

// max-age, else s-maxage, of a Cache-Control value (RFC 9111 §5.2); nullopt when neither is
// there with a valid number of seconds. A huge number saturates.
std::optional<std::int64_t> cache_control_max_age(std::string_view header);
// Whether the value has no-cache or no-store: the response is stale at once.
bool cache_control_no_cache(std::string_view header);

// An HTTP-date (IMF-fixdate, RFC 850 or asctime; RFC 9110 §5.6.7) as Unix seconds.
std::optional<std::int64_t> parse_http_date(std::string_view text);

// How long a key set fetched at `now` (Unix seconds) stays fresh, from the response's headers
// (empty when absent): max-age/s-maxage; else no-cache/no-store (stale now); else Expires minus
// Date (minus `now` without a Date; an Expires that is not a date is in the past, RFC 9111
// §5.3); else `limits.fallback`. Always within [min, max].
std::chrono::seconds jwks_fresh_for(std::string_view cache_control, std::string_view expires,
                                    std::string_view date, std::int64_t now,
                                    const JwksRefreshLimits& limits = {});

// Lets at most one unknown-kid refetch through per `interval`, so tokens with made-up kids can't
// turn us into a load generator against the key server.
class RefetchGate {
 public:
  explicit RefetchGate(std::chrono::steady_clock::duration interval) : interval_(interval) {}
  bool try_pass(std::chrono::steady_clock::time_point now) {
    if (last_ && now - *last_ < interval_) return false;
    last_ = now;
    return true;
  }

 private:
  std::chrono::steady_clock::duration interval_;
  std::optional<std::chrono::steady_clock::time_point> last_;
};

}  // namespace realtime
