// libFuzzer target: the `$name` scanning of a check's SQL or GraphQL (quotes and comments
// skipped) and its rewriting into positional parameters. Checks that every name found is an
// identifier, found once, and that no named parameter survives the rewriting in either dialect.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "auth/checks/check_spec.hpp"
#include "fuzz_support.hpp"

using namespace realtime;

namespace {

bool identifier(std::string_view s) {
  auto start = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; };
  auto rest = [&](char c) { return start(c) || (c >= '0' && c <= '9'); };
  return !s.empty() && start(s.front()) && std::all_of(s.begin() + 1, s.end(), rest);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = fuzz::as_text(data, size);
  const std::vector<std::string> names = named_parameters(text);
  for (std::size_t i = 0; i < names.size(); ++i) {
    FUZZ_CHECK(identifier(names[i]));
    FUZZ_CHECK(names[i].size() > 63 || is_valid_param_name(names[i]));
    FUZZ_CHECK(text.find("$" + names[i]) != std::string_view::npos);
    FUZZ_CHECK(std::count(names.begin(), names.end(), names[i]) == 1);
  }
  for (const auto dialect : {storage::SqlDialect::postgres, storage::SqlDialect::sqlite}) {
    const std::string sql = positional_sql(text, names, dialect);
    FUZZ_CHECK(named_parameters(sql).empty());
    // Nothing left to rewrite: a second pass changes nothing.
    FUZZ_CHECK(positional_sql(sql, {}, dialect) == sql);
    // Only parameters are rewritten.
    if (names.empty()) FUZZ_CHECK(sql == text);
  }
  return 0;
}
