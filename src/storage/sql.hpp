#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/presence_row.hpp"

namespace realtime::storage {

enum class SqlDialect { postgres, sqlite };

// A statement and its text parameters, in order ($1.. for Postgres, ?1.. for SQLite).
struct Statement {
  std::string sql;
  std::vector<std::string> params;
  // Run again and again with other parameters: a connection may keep it prepared (SQLite does).
  bool reuse = false;
};

// One schema version: statements run in one transaction, then recorded in
// np_realtime_schema_migrations.
struct Migration {
  int version;
  std::vector<std::string> statements;
};

inline constexpr std::string_view migrations_table = "np_realtime_schema_migrations";

std::string create_migrations_table_sql(SqlDialect dialect);
// Every migration, oldest first: the files compiled in (storage/embedded_migrations.hpp), the
// version from the file name's number. Applied ones are never edited: a change is a new file.
const std::vector<Migration>& migrations(SqlDialect dialect);

// The statements of a SQL file: `--` comments dropped, split at `;`, each run of white space
// made one space (all outside quotes), empty statements left out.
std::vector<std::string> split_sql(std::string_view text);

// One multi-row upsert of `rows` (distinct users) for `account`. A row only replaces a stored
// one that is not newer, so a late retry can't move last_seen_at backwards. The statement of one
// row is marked for reuse.
Statement upsert_statement(SqlDialect dialect, std::string_view account,
                           const std::vector<PresenceRow>& rows);

// Reads (user_id, status, last_seen in Unix ms as text) of `user_ids` for `account`.
Statement select_statement(SqlDialect dialect, std::string_view account,
                           const std::vector<std::string>& user_ids);

// Unix milliseconds <-> "2026-11-27T20:32:40.123Z" (UTC), the form both databases read and
// SQLite stores (its fixed width keeps text comparison in time order).
std::string format_timestamp(std::int64_t unix_ms);
std::optional<std::int64_t> parse_timestamp(std::string_view text);

}  // namespace realtime::storage
