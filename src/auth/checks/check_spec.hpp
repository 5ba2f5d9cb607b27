#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "storage/sql.hpp"

namespace realtime {

// One named check of the rules file: how to ask a backend whether a subject may act on a topic.
// Pure data, parsed and validated at start (or on SIGHUP).
struct CheckSpec {
  enum class Kind { hasura, sql, http };

  std::string name;
  Kind kind = Kind::sql;
  std::string text;  // the GraphQL query, the SQL, or the proxy's URL
  std::chrono::seconds ttl{60};  // how long an allow is cached (and a live subscription trusted)
  std::chrono::milliseconds timeout{2000};
  // The `$name` parameters the query or SQL uses, in order of first use; empty for http (the
  // proxy gets every parameter).
  std::vector<std::string> variables;
};

std::string_view to_string(CheckSpec::Kind kind);

// A check's parameters: the topic pattern's captures plus user_id, role and topic.
using CheckParams = std::vector<std::pair<std::string, std::string>>;

// The value of `name` in `params`, nullptr when absent.
const std::string* find_param(const CheckParams& params, std::string_view name);

// The `$identifier`s of `text` in order of first appearance, each once. Quoted SQL strings
// ('...'), quoted identifiers ("...") and comments are skipped; `$1`-style positional
// parameters are not names and are refused by the caller.
std::vector<std::string> named_parameters(std::string_view text);

// Rewrites each `$name` of `sql` into the dialect's positional parameter ($1.. for Postgres,
// ?1.. for SQLite) numbered by `variables` (named_parameters(sql)), so values are bound by the
// driver and never spliced into the text.
std::string positional_sql(std::string_view sql, const std::vector<std::string>& variables,
                           storage::SqlDialect dialect);

// A parameter or capture name: [A-Za-z_][A-Za-z0-9_]{0,62}.
bool is_valid_param_name(std::string_view name);

}  // namespace realtime
