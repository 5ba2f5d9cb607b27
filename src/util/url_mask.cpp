#include "util/url_mask.hpp"

#include <vector>

namespace realtime {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decoded(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

std::string mask_url_password(std::string_view url) {
  // Parsers disagree on where a userinfo or a query ends (libpq: the userinfo ends at the first
  // '@' before any '/', a '?' included; URL rules: the authority ends at '/', '?' or '#'), so
  // every reading's password is masked: showing too little beats showing a secret.
  std::vector<bool> secret(url.size(), false);
  auto hide = [&](std::size_t from, std::size_t to) {
    for (std::size_t i = from; i < to && i < url.size(); ++i) secret[i] = true;
  };
  const std::size_t scheme_end = url.find("://");
  if (scheme_end != std::string_view::npos) {
    const std::size_t begin = scheme_end + 3;
    const std::size_t colon = url.find(':', begin);
    // libpq's userinfo: up to the first '@' unless a '/' comes first.
    const std::size_t first = url.find_first_of("@/", begin);
    if (first != std::string_view::npos && url[first] == '@' && colon < first) {
      hide(colon + 1, first);
    }
    // The widest reading: up to the last '@' before the first '/'.
    const std::size_t at = url.substr(0, url.find('/', begin)).rfind('@');
    if (at != std::string_view::npos && at >= begin && colon < at) hide(colon + 1, at);
  }
  // Every `password=` (and `sentinel_password=`) parameter, wherever a query may start, to the next
  // '&'.
  for (std::size_t i = url.find_first_of("?&"); i != std::string_view::npos;
       i = url.find_first_of("?&", i + 1)) {
    const std::size_t end = std::min(url.find('&', i + 1), url.size());
    const std::size_t eq = url.find('=', i + 1);
    if (eq >= end) continue;
    const std::string key = percent_decoded(url.substr(i + 1, eq - i - 1));
    if (key == "password" || key.ends_with("_password")) hide(eq + 1, end);
  }
  std::string out;
  out.reserve(url.size());
  for (std::size_t i = 0; i < url.size(); ++i) {
    if (!secret[i]) {
      out += url[i];
    } else if (i == 0 || !secret[i - 1]) {
      out += "****";
    }
  }
  return out;
}

}  // namespace realtime
