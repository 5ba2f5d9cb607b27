#pragma once

#include <span>
#include <string_view>

#include "storage/sql.hpp"

namespace realtime::storage {

// A migration file compiled into the server: its name (NNN_what.sql) and its text.
struct EmbeddedSql {
  std::string_view file;
  std::string_view text;
};

// The up-migrations of `dialect`, by file name: Postgres from nself/migrations/ (the nself
// plugin's own files), SQLite from src/storage/migrations/sqlite/. Generated at build time by
// cmake/embed_migrations.cmake.
std::span<const EmbeddedSql> embedded_migrations(SqlDialect dialect);

}  // namespace realtime::storage
