#include "auth/checks/check_answers.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>

namespace json = boost::json;

namespace realtime {
namespace {

// The declared GraphQL type of `$name` in the query's variable definitions, without ! and [].
std::string declared_type(std::string_view query, std::string_view name) {
  const std::string needle = "$" + std::string(name);
  std::size_t at = 0;
  while ((at = query.find(needle, at)) != std::string_view::npos) {
    std::size_t i = at + needle.size();
    at = i;
    if (i < query.size() && (std::isalnum(static_cast<unsigned char>(query[i])) || query[i] == '_')) {
      continue;  // a longer name
    }
    while (i < query.size() && std::isspace(static_cast<unsigned char>(query[i]))) ++i;
    if (i >= query.size() || query[i] != ':') continue;  // a use, not the definition
    ++i;
    while (i < query.size() && (std::isspace(static_cast<unsigned char>(query[i])) || query[i] == '[')) ++i;
    std::size_t end = i;
    while (end < query.size() &&
           (std::isalnum(static_cast<unsigned char>(query[end])) || query[end] == '_')) {
      ++end;
    }
    return std::string(query.substr(i, end - i));
  }
  return {};
}

json::value variable_value(std::string_view type, const std::string& value) {
  static constexpr std::string_view integers[] = {"Int", "bigint", "smallint", "int", "Int64"};
  static constexpr std::string_view decimals[] = {"Float", "numeric", "float8", "float4"};
  if (std::find(std::begin(integers), std::end(integers), type) != std::end(integers)) {
    std::int64_t n = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (ec == std::errc() && end == value.data() + value.size()) return n;
  }
  if (std::find(std::begin(decimals), std::end(decimals), type) != std::end(decimals)) {
    double d = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), d);
    if (ec == std::errc() && end == value.data() + value.size()) return d;
  }
  if (type == "Boolean" && (value == "true" || value == "false")) return value == "true";
  return json::string(value);
}

}  // namespace

std::string hasura_request_body(const CheckRequest& request) {
  json::object variables;
  for (const auto& name : request.spec.variables) {
    if (const std::string* value = find_param(request.params, name)) {
      variables[name] = variable_value(declared_type(request.spec.text, name), *value);
    }
  }
  json::object body;
  body["query"] = request.spec.text;
  body["variables"] = std::move(variables);
  return json::serialize(body);
}

CheckResult hasura_answer(int status, std::string_view body) {
  if (status >= 500) return {CheckOutcome::unavailable, "hasura answered " + std::to_string(status)};
  json::error_code ec;
  json::value root = json::parse(body, ec);
  const json::object* obj = ec ? nullptr : root.if_object();
  if (obj == nullptr) {
    return {CheckOutcome::unavailable,
            "hasura answered " + std::to_string(status) + " without a GraphQL response"};
  }
  if (const json::value* errors = obj->if_contains("errors");
      errors != nullptr && errors->is_array() && !errors->get_array().empty()) {
    std::string message = "hasura: ";
    const json::value& first = errors->get_array().front();
    const json::value* text = first.is_object() ? first.get_object().if_contains("message") : nullptr;
    message += text != nullptr && text->is_string() ? std::string(text->get_string())
                                                    : json::serialize(first);
    return {CheckOutcome::deny, std::move(message)};
  }
  if (status < 200 || status >= 300) {
    return {CheckOutcome::deny, "hasura answered " + std::to_string(status)};
  }
  const json::value* data = obj->if_contains("data");
  if (data == nullptr || !data->is_object()) {
    return {CheckOutcome::unavailable, "hasura's answer has no data"};
  }
  const json::object& fields = data->get_object();
  if (fields.empty()) return {CheckOutcome::deny, "hasura's answer has no root field"};
  const json::value& first = fields.begin()->value();
  if (first.is_null()) return {CheckOutcome::deny, "no row (null)"};
  if (first.is_array() && first.get_array().empty()) return {CheckOutcome::deny, "no row ([])"};
  return {CheckOutcome::allow, {}};
}

std::string proxy_request_body(const CheckRequest& request) {
  json::object params;
  for (const auto& [name, value] : request.params) {
    if (name != "user_id" && name != "role" && name != "topic") params[name] = value;
  }
  json::object body;
  body["user_id"] = request.subject.user_id;
  body["role"] = request.subject.role;
  body["topic"] = request.topic;
  body["action"] = to_string(request.action);
  body["params"] = std::move(params);
  return json::serialize(body);
}

CheckResult proxy_answer(int status, std::string_view body) {
  if (status >= 500) return {CheckOutcome::unavailable, "proxy answered " + std::to_string(status)};
  if (status == 403) return {CheckOutcome::deny, "proxy answered 403"};
  if (status < 200 || status >= 300) {
    return {CheckOutcome::deny, "proxy answered " + std::to_string(status)};
  }
  json::error_code ec;
  json::value root = json::parse(body, ec);
  const json::object* obj = ec ? nullptr : root.if_object();
  const json::value* allow = obj != nullptr ? obj->if_contains("allow") : nullptr;
  if (allow == nullptr || !allow->is_bool()) {
    return {CheckOutcome::unavailable, "proxy answered 2xx without {\"allow\": true|false}"};
  }
  if (allow->get_bool()) return {CheckOutcome::allow, {}};
  std::string reason = "proxy denied";
  if (const json::value* r = obj->if_contains("reason"); r != nullptr && r->is_string()) {
    reason += ": " + std::string(r->get_string());
  }
  return {CheckOutcome::deny, std::move(reason)};
}

}  // namespace realtime
