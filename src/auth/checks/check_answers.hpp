#pragma once

#include <string>
#include <string_view>

#include "auth/checks/check_runner.hpp"

namespace realtime {

// What a check sends and how its answer reads: pure, so every answer shape is unit-tested
// without a backend.

// {"query": <the check's query>, "variables": {...}}: each variable the query declares, from the
// parameters; a numeric or boolean GraphQL type (Int, Float, bigint, numeric, Boolean, ...) gets a
// JSON number or boolean when the value reads as one.
std::string hasura_request_body(const CheckRequest& request);

// Hasura's answer: `errors` is a denial (with the first message); otherwise allowed when the
// first root field of `data` is neither null nor an empty list. A 5xx or a body that is not
// GraphQL's answer is unavailable.
CheckResult hasura_answer(int status, std::string_view body);

// {"user_id","role","topic","action","params":{captures}} for a subscribe proxy.
std::string proxy_request_body(const CheckRequest& request);

// 2xx {"allow":true} allows; 2xx {"allow":false} or 403 denies; 5xx, or a 2xx that does not say,
// is unavailable; any other status denies.
CheckResult proxy_answer(int status, std::string_view body);

}  // namespace realtime
