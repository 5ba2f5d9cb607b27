#include "protocol/json_numbers.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace realtime {
namespace {

bool finite(std::string_view json) { return numbers_finite(boost::json::parse(json)); }

TEST(JsonNumbersTest, OrdinaryValuesAreFinite) {
  for (const char* json : {"null", "0", "-1.5e-71", "1.7976931348623157e308",
                           "18446744073709551615", R"({"a":[1,2.5,{"b":"1e400"}]})", "[]", "{}"}) {
    EXPECT_TRUE(finite(json)) << json;
  }
}

// Boost.JSON takes these as infinity (and would write `Infinity`).
TEST(JsonNumbersTest, NumbersBeyondADoubleAreFoundAtAnyDepth) {
  for (const char* json : {"1e400", "-1e309", "[1,[2,[3e999]]]", R"({"a":{"b":[{"c":11e309}]}})"}) {
    EXPECT_FALSE(finite(json)) << json;
  }
}

}  // namespace
}  // namespace realtime
