#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "support/postgres_server.hpp"

namespace realtime::testing {

// One np_realtime_presence row as a test reads it back.
struct StoredPresence {
  std::string status;
  int connections = 0;
  std::int64_t last_seen_ms = 0;
};

// The rows of `account`, by user id, read straight from the database (not through the server).
std::map<std::string, StoredPresence> PostgresPresence(const PostgresServer& pg,
                                                       const std::string& account = "primary");
// Empty when the file or the table does not exist yet.
std::map<std::string, StoredPresence> SqlitePresence(const std::string& path,
                                                     const std::string& account = "primary");

}  // namespace realtime::testing
