#include "auth/jwks_refresh.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <ctime>
#include <string>

#include "util/http_text.hpp"

namespace realtime {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// Calls f(name, value) for each directive of a Cache-Control value: `token[=token|"quoted"]`,
// comma separated. Values come unquoted (escapes are not needed for the delta-seconds we read).
template <typename F>
void for_each_directive(std::string_view header, F&& f) {
  std::size_t pos = 0;
  while (pos < header.size()) {
    std::size_t end = pos;
    bool quoted = false;
    while (end < header.size() && (quoted || header[end] != ',')) {
      if (header[end] == '"') quoted = !quoted;
      ++end;
    }
    std::string_view item = trim_ows(header.substr(pos, end - pos));
    pos = end + 1;
    if (item.empty()) continue;
    const auto eq = item.find('=');
    std::string_view name = trim_ows(item.substr(0, eq));
    std::string_view value = eq == item.npos ? std::string_view{} : trim_ows(item.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    f(name, value, eq != item.npos);
  }
}

std::optional<std::int64_t> delta_seconds(std::string_view value) {
  if (value.empty() || value.size() > 32) return std::nullopt;
  for (char c : value) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  std::int64_t out = 0;
  auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), out);
  if (ec == std::errc::result_out_of_range) return INT64_MAX;  // RFC 9111 §1.2.2: saturate
  if (ec != std::errc{}) return std::nullopt;
  return out;
}

}  // namespace

std::optional<std::int64_t> cache_control_max_age(std::string_view header) {
  std::optional<std::int64_t> max_age;
  std::optional<std::int64_t> s_maxage;
  for_each_directive(header, [&](std::string_view name, std::string_view value, bool has_value) {
    if (!has_value) return;
    if (iequals(name, "max-age") && !max_age) max_age = delta_seconds(value);
    if (iequals(name, "s-maxage") && !s_maxage) s_maxage = delta_seconds(value);
  });
  return max_age ? max_age : s_maxage;
}

bool cache_control_no_cache(std::string_view header) {
  bool found = false;
  for_each_directive(header, [&](std::string_view name, std::string_view, bool) {
    found = found || iequals(name, "no-cache") || iequals(name, "no-store");
  });
  return found;
}

std::optional<std::int64_t> parse_http_date(std::string_view text) {
  text = trim_ows(text);
  if (text.empty() || text.size() > 64) return std::nullopt;
  const std::string s(text);
  // strptime reads names in the C locale, which the server never changes.
  for (const char* format :
       {"%a, %d %b %Y %H:%M:%S GMT", "%A, %d-%b-%y %H:%M:%S GMT", "%a %b %e %H:%M:%S %Y"}) {
    std::tm tm{};
    const char* end = strptime(s.c_str(), format, &tm);
    if (end != nullptr && *end == '\0') return static_cast<std::int64_t>(timegm(&tm));
  }
  return std::nullopt;
}

std::chrono::seconds jwks_fresh_for(std::string_view cache_control, std::string_view expires,
                                    std::string_view date, std::int64_t now,
                                    const JwksRefreshLimits& limits) {
  auto clamp = [&](std::int64_t seconds) {
    return std::chrono::seconds(
        std::clamp<std::int64_t>(seconds, limits.min.count(), limits.max.count()));
  };
  if (auto max_age = cache_control_max_age(cache_control)) return clamp(*max_age);
  if (cache_control_no_cache(cache_control)) return limits.min;
  if (!trim_ows(expires).empty()) {
    const auto at = parse_http_date(expires);
    if (!at) return limits.min;
    // Against the server's own clock when it says what that is: ours may be off.
    const auto base = parse_http_date(date).value_or(now);
    return clamp(*at - base);
  }
  return clamp(limits.fallback.count());
}

}  // namespace realtime
