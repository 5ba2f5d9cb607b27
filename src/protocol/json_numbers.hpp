#pragma once

#include <boost/json/value.hpp>

namespace realtime {

// Boost.JSON (1.81) parses a number too large for a double (1e400) as infinity and serializes
// it as `Infinity`, which is not JSON: relayed, one such number would make the frame unreadable
// for every subscriber. True when `value` holds no such number. Untrusted JSON that is passed
// on (event data, request ids) is checked with this and refused otherwise.
bool numbers_finite(const boost::json::value& value);

}  // namespace realtime
