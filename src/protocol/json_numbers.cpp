#include "protocol/json_numbers.hpp"

#include <cmath>

namespace realtime {

bool numbers_finite(const boost::json::value& value) {
  // Recursion is bounded by the parser's depth limit (32 by default).
  switch (value.kind()) {
    case boost::json::kind::double_:
      return std::isfinite(value.get_double());
    case boost::json::kind::array:
      for (const auto& item : value.get_array()) {
        if (!numbers_finite(item)) return false;
      }
      return true;
    case boost::json::kind::object:
      for (const auto& [key, item] : value.get_object()) {
        if (!numbers_finite(item)) return false;
      }
      return true;
    default:
      return true;
  }
}

}  // namespace realtime
