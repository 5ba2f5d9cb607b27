#pragma once

#include <atomic>

#include "storage/database.hpp"

struct sqlite3;

namespace realtime::storage {

// A SQLite file in WAL mode (readers such as backups don't block the writer).
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
  void interrupt() override;

 private:
  std::string path_;
  sqlite3* db_ = nullptr;
  std::atomic<bool> interrupted_{false};
  std::atomic<sqlite3*> live_{nullptr};  // what interrupt() may touch from another thread
};

}  // namespace realtime::storage
