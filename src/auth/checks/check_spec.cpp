#include "auth/checks/check_spec.hpp"

#include <algorithm>

namespace realtime {
namespace {

bool ident_start(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
bool ident_char(char c) { return ident_start(c) || (c >= '0' && c <= '9'); }

// Walks `text`, calling on_param(start, end) for each `$identifier` outside quotes and
// comments, and on_text(start, end) for everything in between.
template <typename OnText, typename OnParam>
void scan(std::string_view text, OnText on_text, OnParam on_param) {
  std::size_t copied = 0;
  std::size_t i = 0;
  auto skip_until = [&](std::string_view end, std::size_t from) {
    const auto at = text.find(end, from);
    return at == std::string_view::npos ? text.size() : at + end.size();
  };
  while (i < text.size()) {
    const char c = text[i];
    if (c == '\'' || c == '"') {
      // A doubled quote inside is an escaped quote: skipping to the next one and going on
      // treats the pair as two adjacent strings, which is the same for our purpose.
      i = skip_until(std::string_view(&text[i], 1), i + 1);
    } else if (c == '-' && i + 1 < text.size() && text[i + 1] == '-') {
      i = skip_until("\n", i + 2);
    } else if (c == '/' && i + 1 < text.size() && text[i + 1] == '*') {
      i = skip_until("*/", i + 2);
    } else if (c == '$' && i + 1 < text.size() && ident_start(text[i + 1])) {
      std::size_t end = i + 2;
      while (end < text.size() && ident_char(text[end])) ++end;
      on_text(copied, i);
      on_param(i + 1, end);
      copied = end;
      i = end;
    } else {
      ++i;
    }
  }
  on_text(copied, text.size());
}

}  // namespace

std::string_view to_string(CheckSpec::Kind kind) {
  switch (kind) {
    case CheckSpec::Kind::hasura:
      return "hasura";
    case CheckSpec::Kind::sql:
      return "sql";
    case CheckSpec::Kind::http:
      return "http";
  }
  return "?";
}

const std::string* find_param(const CheckParams& params, std::string_view name) {
  for (const auto& [key, value] : params) {
    if (key == name) return &value;
  }
  return nullptr;
}

bool is_valid_param_name(std::string_view name) {
  if (name.empty() || name.size() > 63 || !ident_start(name.front())) return false;
  return std::all_of(name.begin(), name.end(), ident_char);
}

std::vector<std::string> named_parameters(std::string_view text) {
  std::vector<std::string> out;
  scan(
      text, [](std::size_t, std::size_t) {},
      [&](std::size_t start, std::size_t end) {
        std::string name(text.substr(start, end - start));
        if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(std::move(name));
      });
  return out;
}

std::string positional_sql(std::string_view sql, const std::vector<std::string>& variables,
                           storage::SqlDialect dialect) {
  std::string out;
  out.reserve(sql.size());
  scan(
      sql, [&](std::size_t start, std::size_t end) { out.append(sql.substr(start, end - start)); },
      [&](std::size_t start, std::size_t end) {
        const auto name = sql.substr(start, end - start);
        const auto at = std::find(variables.begin(), variables.end(), name);
        const auto number = std::to_string(at - variables.begin() + 1);
        out += dialect == storage::SqlDialect::postgres ? "$" : "?";
        out += number;
      });
  return out;
}

}  // namespace realtime
