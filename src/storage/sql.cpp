#include "storage/sql.hpp"

#include <charconv>
#include <chrono>
#include <cstdio>

#include "storage/embedded_migrations.hpp"

namespace realtime::storage {
namespace {

std::string placeholder(SqlDialect dialect, std::size_t n) {
  return (dialect == SqlDialect::postgres ? "$" : "?") + std::to_string(n);
}

std::string now_sql(SqlDialect dialect) {
  return dialect == SqlDialect::postgres ? "now()" : "strftime('%Y-%m-%dT%H:%M:%fZ','now')";
}

}  // namespace

std::string create_migrations_table_sql(SqlDialect dialect) {
  const std::string time_type = dialect == SqlDialect::postgres ? "TIMESTAMPTZ" : "TEXT";
  return "CREATE TABLE IF NOT EXISTS " + std::string(migrations_table) +
         " (version INTEGER PRIMARY KEY, applied_at " + time_type + " NOT NULL DEFAULT " +
         (dialect == SqlDialect::postgres ? "now()" : "(" + now_sql(dialect) + ")") + ")";
}

std::vector<std::string> split_sql(std::string_view text) {
  std::vector<std::string> out;
  std::string current;
  char quote = 0;  // inside '...' or "..."
  auto finish = [&] {
    while (!current.empty() && current.back() == ' ') current.pop_back();
    if (!current.empty()) out.push_back(std::move(current));
    current.clear();
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quote != 0) {
      current += c;
      if (c == quote) quote = 0;  // a doubled quote closes and reopens: same text
      continue;
    }
    if (c == '\'' || c == '"') {
      quote = c;
      current += c;
    } else if (c == '-' && i + 1 < text.size() && text[i + 1] == '-') {
      while (i < text.size() && text[i] != '\n') ++i;
      if (!current.empty() && current.back() != ' ') current += ' ';
    } else if (c == ';') {
      finish();
    } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      if (!current.empty() && current.back() != ' ') current += ' ';
    } else {
      // No space after an opening or before a closing parenthesis: "(a, b)" however written.
      if (c == ')' && !current.empty() && current.back() == ' ') current.pop_back();
      current += c;
      if (c == '(') {
        while (i + 1 < text.size() && (text[i + 1] == ' ' || text[i + 1] == '\n' ||
                                       text[i + 1] == '\t' || text[i + 1] == '\r')) {
          ++i;
        }
      }
    }
  }
  finish();
  return out;
}

namespace {

std::vector<Migration> load_migrations(SqlDialect dialect) {
  std::vector<Migration> out;
  for (const EmbeddedSql& file : embedded_migrations(dialect)) {
    int version = 0;
    std::from_chars(file.file.data(), file.file.data() + file.file.size(), version);
    out.push_back({version, split_sql(file.text)});
  }
  return out;
}

}  // namespace

const std::vector<Migration>& migrations(SqlDialect dialect) {
  static const std::vector<Migration> postgres = load_migrations(SqlDialect::postgres);
  static const std::vector<Migration> sqlite = load_migrations(SqlDialect::sqlite);
  return dialect == SqlDialect::postgres ? postgres : sqlite;
}

namespace {

// The statement's text for `rows` rows: the parameters are numbered, the values never inlined.
std::string upsert_sql(SqlDialect dialect, std::size_t rows) {
  const std::string ts_cast = dialect == SqlDialect::postgres ? "::timestamptz" : "";
  const std::string int_cast = dialect == SqlDialect::postgres ? "::integer" : "";
  std::string sql =
      "INSERT INTO np_realtime_presence "
      "(source_account_id, user_id, status, last_seen_at, connections, updated_at) VALUES ";
  std::size_t n = 2;
  for (std::size_t i = 0; i < rows; ++i) {
    if (i > 0) sql += ", ";
    sql += '(' + placeholder(dialect, 1) + ", " + placeholder(dialect, n) + ", " +
           placeholder(dialect, n + 1) + ", " + placeholder(dialect, n + 2) + ts_cast + ", " +
           placeholder(dialect, n + 3) + int_cast + ", " + now_sql(dialect) + ')';
    n += 4;
  }
  sql +=
      " ON CONFLICT (source_account_id, user_id) DO UPDATE SET status = excluded.status, "
      "last_seen_at = excluded.last_seen_at, connections = excluded.connections, updated_at = " +
      now_sql(dialect) + " WHERE np_realtime_presence.last_seen_at <= excluded.last_seen_at";
  return sql;
}

}  // namespace

Statement upsert_statement(SqlDialect dialect, std::string_view account,
                           const std::vector<PresenceRow>& rows) {
  Statement out;
  out.params.reserve(1 + rows.size() * 4);
  out.params.emplace_back(account);
  for (const PresenceRow& r : rows) {
    out.params.push_back(r.user_id);
    out.params.emplace_back(to_string(r.status));
    out.params.push_back(format_timestamp(r.last_seen_ms));
    out.params.push_back(std::to_string(r.connections));
  }
  if (rows.size() == 1) {
    // The one-row text is asked for every row SQLite writes: built once per dialect.
    static const std::string postgres_one = upsert_sql(SqlDialect::postgres, 1);
    static const std::string sqlite_one = upsert_sql(SqlDialect::sqlite, 1);
    out.sql = dialect == SqlDialect::postgres ? postgres_one : sqlite_one;
  } else {
    out.sql = upsert_sql(dialect, rows.size());
  }
  out.reuse = rows.size() == 1;
  return out;
}

Statement select_statement(SqlDialect dialect, std::string_view account,
                           const std::vector<std::string>& user_ids) {
  Statement out;
  out.params.emplace_back(account);
  out.sql = dialect == SqlDialect::postgres
                ? "SELECT user_id, status, "
                  "(floor(extract(epoch FROM last_seen_at) * 1000))::bigint::text "
                  "FROM np_realtime_presence WHERE source_account_id = $1 AND user_id IN ("
                : "SELECT user_id, status, last_seen_at FROM np_realtime_presence "
                  "WHERE source_account_id = ?1 AND user_id IN (";
  for (std::size_t i = 0; i < user_ids.size(); ++i) {
    if (i > 0) out.sql += ", ";
    out.sql += placeholder(dialect, i + 2);
    out.params.push_back(user_ids[i]);
  }
  out.sql += ')';
  return out;
}

std::string format_timestamp(std::int64_t unix_ms) {
  using namespace std::chrono;
  const sys_time<milliseconds> t{milliseconds{unix_ms}};
  const auto day = floor<days>(t);
  const year_month_day ymd{day};
  const hh_mm_ss hms{t - day};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ",
                static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                static_cast<unsigned>(ymd.day()), static_cast<int>(hms.hours().count()),
                static_cast<int>(hms.minutes().count()), static_cast<int>(hms.seconds().count()),
                static_cast<int>(hms.subseconds().count()));
  return buf;
}

std::optional<std::int64_t> parse_timestamp(std::string_view text) {
  // Exactly YYYY-MM-DDTHH:MM:SS.mmmZ (what format_timestamp and SQLite's strftime write).
  if (text.size() != 24 || text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':' ||
      text[16] != ':' || text[19] != '.' || text[23] != 'Z') {
    return std::nullopt;
  }
  auto number = [&](std::size_t at, std::size_t len) -> std::optional<int> {
    int v = 0;
    auto [p, ec] = std::from_chars(text.data() + at, text.data() + at + len, v);
    if (ec != std::errc{} || p != text.data() + at + len) return std::nullopt;
    return v;
  };
  auto y = number(0, 4), mo = number(5, 2), d = number(8, 2), h = number(11, 2), mi = number(14, 2),
       s = number(17, 2), ms = number(20, 3);
  if (!y || !mo || !d || !h || !mi || !s || !ms || *h > 23 || *mi > 59 || *s > 60) {
    return std::nullopt;
  }
  using namespace std::chrono;
  const year_month_day ymd{year{*y}, month{static_cast<unsigned>(*mo)},
                           day{static_cast<unsigned>(*d)}};
  if (!ymd.ok()) return std::nullopt;
  const auto t = sys_days{ymd} + hours{*h} + minutes{*mi} + seconds{*s} + milliseconds{*ms};
  return duration_cast<milliseconds>(t.time_since_epoch()).count();
}

}  // namespace realtime::storage
