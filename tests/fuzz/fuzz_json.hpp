#pragma once
// JSON comparisons for the fuzz targets' round trips.

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <cmath>
#include <string_view>

namespace realtime::fuzz {

// Equal JSON values, numbers compared as numbers within a relative 1e-15: Boost 1.81's parser is
// not correctly rounded, so a double may come back from a parse/serialize trip with its last
// digit changed (-1.5e-71 -> -1.4999999999999999E-71). Known and documented in
// docs/reliability.md; anything else is a real difference.
inline bool same_json(const boost::json::value& a, const boost::json::value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.kind() == b.kind() && !a.is_double()) return a == b;
    const double x = a.to_number<double>(), y = b.to_number<double>();
    return x == y || std::fabs(x - y) <= 1e-15 * std::max(std::fabs(x), std::fabs(y));
  }
  if (a.kind() != b.kind()) return false;
  if (a.is_array()) {
    const auto &x = a.get_array(), &y = b.get_array();
    if (x.size() != y.size()) return false;
    for (std::size_t i = 0; i < x.size(); ++i) {
      if (!same_json(x[i], y[i])) return false;
    }
    return true;
  }
  if (a.is_object()) {
    const auto &x = a.get_object(), &y = b.get_object();
    if (x.size() != y.size()) return false;
    for (const auto& [key, value] : x) {
      const auto* other = y.if_contains(key);
      if (other == nullptr || !same_json(value, *other)) return false;
    }
    return true;
  }
  return a == b;
}

// Both texts are JSON and hold the same value (see same_json).
inline bool same_json_text(std::string_view a, std::string_view b) {
  boost::json::error_code ea, eb;
  const auto x = boost::json::parse(a, ea);
  const auto y = boost::json::parse(b, eb);
  return !ea && !eb && same_json(x, y);
}

}  // namespace realtime::fuzz
