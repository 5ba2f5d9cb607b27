#pragma once

#include <variant>

#include "storage/database.hpp"

namespace realtime::storage {

// Brings an open database's schema up to date in one transaction (Postgres: under an advisory
// lock, so nodes starting together don't race). Idempotent. Returns how many migrations it
// applied.
std::variant<int, DbError> migrate(Database& db, Deadline deadline);

// The schema version recorded in the database (0 before the first migration); one row, one
// column. Also the writer's health probe: it proves the database answers and reads the schema.
std::string schema_version_sql();
// How many of this build's migrations a database at schema version `version` has.
int migrations_applied(SqlDialect dialect, int version);

// --migrate: opens `url`, migrates, closes.
std::variant<int, DbError> migrate_database(const DatabaseUrl& url, Deadline deadline);

}  // namespace realtime::storage
