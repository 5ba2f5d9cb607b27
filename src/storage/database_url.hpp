#pragma once

#include <string>
#include <string_view>

namespace realtime::storage {

enum class DatabaseKind { none, sqlite, postgres };

std::string_view to_string(DatabaseKind kind);

// Where last-seen rows go, from DATABASE_URL.
struct DatabaseUrl {
  DatabaseKind kind = DatabaseKind::sqlite;
  // sqlite: the file path; postgres: the URI as given (libpq parses it, with its parameters).
  std::string target = "./realtime.db";
  bool defaulted = true;  // DATABASE_URL was not set

  // For logs and --check-config: the password (user:PASSWORD@ and ?password=) masked.
  std::string describe() const;
};

// Parses a DATABASE_URL value: postgres:// or postgresql:// (checked with libpq's own URI
// parser), sqlite:PATH or sqlite://PATH, or `none` (persistence off). Throws
// std::invalid_argument with what is wrong and what is accepted.
DatabaseUrl parse_database_url(std::string_view value);

}  // namespace realtime::storage
