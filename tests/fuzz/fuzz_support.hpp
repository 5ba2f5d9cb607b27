#pragma once
// Shared by the fuzz targets: splitting an input into fields, and property checks that abort
// (libFuzzer then keeps the input as a crash).

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <vector>

namespace realtime::fuzz {

// The input as text.
inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Up to `count` fields separated by '\n'; the last field holds the rest (newlines included),
// missing fields are empty. Seeds stay readable: one field per line.
inline std::vector<std::string_view> fields(std::string_view text, std::size_t count) {
  std::vector<std::string_view> out;
  while (out.size() + 1 < count) {
    const auto nl = text.find('\n');
    if (nl == std::string_view::npos) break;
    out.push_back(text.substr(0, nl));
    text.remove_prefix(nl + 1);
  }
  out.push_back(text);
  out.resize(count);
  return out;
}

[[noreturn]] inline void property_failed(const char* expr, const char* file, int line) {
  std::fprintf(stderr, "%s:%d: property failed: %s\n", file, line, expr);
  std::abort();
}

}  // namespace realtime::fuzz

// A property of the code under test; a violation is a finding like a crash.
#define FUZZ_CHECK(cond) \
  ((cond) ? (void)0 : ::realtime::fuzz::property_failed(#cond, __FILE__, __LINE__))
