#pragma once

#include <string_view>

namespace realtime {

// A header value without its optional whitespace (RFC 9110 §5.6.3: spaces and tabs) at either end.
inline std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace realtime
