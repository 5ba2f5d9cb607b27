#pragma once

#include <atomic>
#include <string>
#include <unordered_map>

#include "storage/database.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace realtime::storage {

// A SQLite file in WAL mode (readers such as backups don't block the writer). Statements marked
// `reuse` stay prepared while the connection is open: parsing costs SQLite more than running.
class SqliteDatabase final : public Database {
 public:
  explicit SqliteDatabase(std::string path) : path_(std::move(path)) {}
  ~SqliteDatabase() override { close(); }

  SqlDialect dialect() const override { return SqlDialect::sqlite; }
  DatabaseKind kind() const override { return DatabaseKind::sqlite; }
  std::optional<DbError> open(Deadline deadline) override;
  bool is_open() const override { return db_ != nullptr; }
  void close() override;
  std::variant<Rows, DbError> run(const Statement& statement, Deadline deadline) override;
  std::optional<DbError> prepare(const std::string& sql, Deadline deadline) override;
  void interrupt() override;

 private:
  static constexpr std::size_t max_prepared = 16;

  std::string path_;
  sqlite3* db_ = nullptr;
  std::unordered_map<std::string, sqlite3_stmt*> prepared_;
  std::atomic<bool> interrupted_{false};
  std::atomic<sqlite3*> live_{nullptr};  // what interrupt() may touch from another thread
};

}  // namespace realtime::storage
