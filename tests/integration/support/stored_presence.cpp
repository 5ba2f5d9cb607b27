#include "support/stored_presence.hpp"

#include <sqlite3.h>

#include <stdexcept>

namespace realtime::testing {

std::map<std::string, StoredPresence> PostgresPresence(const PostgresServer& pg,
                                                       const std::string& account) {
  std::map<std::string, StoredPresence> out;
  for (const auto& row :
       pg.Query("SELECT user_id, status, connections, "
                "(extract(epoch FROM last_seen_at) * 1000)::bigint FROM np_realtime_presence "
                "WHERE source_account_id = '" +
                account + "'")) {
    out[row[0]] = {row[1], std::stoi(row[2]), std::stoll(row[3])};
  }
  return out;
}

std::map<std::string, StoredPresence> SqlitePresence(const std::string& path,
                                                     const std::string& account) {
  std::map<std::string, StoredPresence> out;
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    return out;
  }
  sqlite3_busy_timeout(db, 5000);
  // julianday() parses the stored ISO-8601 text on its own, independent of the server's code.
  const char* sql =
      "SELECT user_id, status, connections, "
      "CAST(ROUND((julianday(last_seen_at) - 2440587.5) * 86400000.0) AS INTEGER) "
      "FROM np_realtime_presence WHERE source_account_id = ?1";
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    return out;  // no table yet
  }
  sqlite3_bind_text(stmt, 1, account.c_str(), -1, SQLITE_TRANSIENT);
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    out[reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0))] = {
        reinterpret_cast<const char*>(sqlite3_column_text(stmt, 1)), sqlite3_column_int(stmt, 2),
        sqlite3_column_int64(stmt, 3)};
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return out;
}

}  // namespace realtime::testing
