#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "storage/database_url.hpp"
#include "storage/sql.hpp"

namespace realtime::storage {

using Deadline = std::chrono::steady_clock::time_point;
using Rows = std::vector<std::vector<std::string>>;

struct DbError {
  std::string message;
  // The rows themselves are refused (bad value, constraint): retrying them can't help. Any other
  // error (connection, server, disk) is worth a retry on a fresh connection.
  bool data_error = false;
};

// One connection to the database, used by one thread (the writer) only; never throws. Every call
// gives up at `deadline`. interrupt() is the exception to the one-thread rule: any thread may
// call it to make the running and every later call fail at once (used at shutdown).
class Database {
 public:
  virtual ~Database() = default;
  virtual SqlDialect dialect() const = 0;
  virtual DatabaseKind kind() const = 0;
  virtual std::optional<DbError> open(Deadline deadline) = 0;
  virtual bool is_open() const = 0;
  virtual void close() = 0;
  // Runs one statement; rows as text (NULL as "").
  virtual std::variant<Rows, DbError> run(const Statement& statement, Deadline deadline) = 0;
  // Parses and plans `sql` without running it (its tables and columns must exist): how a
  // rules file's SQL is checked at start.
  virtual std::optional<DbError> prepare(const std::string& sql, Deadline deadline) = 0;
  virtual void interrupt() = 0;
};

// The backend for `url` (not yet open); nullptr for DatabaseKind::none.
std::unique_ptr<Database> make_database(const DatabaseUrl& url);

}  // namespace realtime::storage
