// libFuzzer target: what a check's backend answers (Hasura's GraphQL response, an HTTP proxy's
// verdict) and the GraphQL request built from a query's declared variables. Input: the HTTP
// status on the first line, the body after it; the body is also used as a GraphQL query whose
// variables take their values from the status line.
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <string>

#include "auth/checks/check_answers.hpp"
#include "fuzz_support.hpp"
#include "ws/frame_codec.hpp"

namespace json = boost::json;
using namespace realtime;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto parts = fuzz::fields(fuzz::as_text(data, size), 2);
  int status = 200;
  std::from_chars(parts[0].data(), parts[0].data() + parts[0].size(), status);
  const std::string_view body = parts[1];

  const CheckResult hasura = hasura_answer(status, body);
  if (status >= 500) FUZZ_CHECK(hasura.outcome == CheckOutcome::unavailable);
  FUZZ_CHECK(hasura.outcome == CheckOutcome::allow || !hasura.message.empty());
  if (hasura.outcome == CheckOutcome::allow) FUZZ_CHECK(status >= 200 && status < 300);

  const CheckResult proxy = proxy_answer(status, body);
  if (status >= 500) FUZZ_CHECK(proxy.outcome == CheckOutcome::unavailable);
  if (status == 403) FUZZ_CHECK(proxy.outcome == CheckOutcome::deny);
  FUZZ_CHECK(proxy.outcome == CheckOutcome::allow || !proxy.message.empty());
  if (proxy.outcome == CheckOutcome::allow) FUZZ_CHECK(status >= 200 && status < 300);

  // The body as a GraphQL query: every declared variable gets a value, typed from its
  // declaration, and the request is JSON carrying the query unchanged. Queries come from the
  // rules' JSON and values from names and topics: both UTF-8.
  if (ws::utf8_step(ws::utf8_accept, fuzz::as_text(data, size)) != ws::utf8_accept) return 0;
  CheckRequest request;
  request.spec.kind = CheckSpec::Kind::hasura;
  request.spec.text = std::string(body);
  request.spec.variables = named_parameters(body);
  for (const auto& name : request.spec.variables) {
    request.params.emplace_back(name, std::string(parts[0]));
  }
  json::error_code ec;
  const json::value sent = json::parse(hasura_request_body(request), ec);
  FUZZ_CHECK(!ec && sent.is_object());
  const json::value* query = sent.as_object().if_contains("query");
  FUZZ_CHECK(query != nullptr && query->is_string() && query->get_string() == body);
  const json::value* variables = sent.as_object().if_contains("variables");
  FUZZ_CHECK(variables != nullptr && variables->is_object());
  FUZZ_CHECK(variables->as_object().size() == request.spec.variables.size());
  return 0;
}
