#pragma once

#include <variant>

#include "storage/database.hpp"

namespace realtime::storage {

// Brings an open database's schema up to date in one transaction (Postgres: under an advisory
// lock, so nodes starting together don't race). Idempotent. Returns how many migrations it
// applied.
std::variant<int, DbError> migrate(Database& db, Deadline deadline);

// --migrate: opens `url`, migrates, closes.
std::variant<int, DbError> migrate_database(const DatabaseUrl& url, Deadline deadline);

}  // namespace realtime::storage
