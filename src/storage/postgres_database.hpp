#pragma once

#include <functional>

#include <atomic>

#include "storage/database.hpp"

struct pg_conn;
struct pg_result;

namespace realtime::storage {

// libpq in non-blocking mode: every wait is a poll() bounded by the call's deadline, so a
// vanished or frozen server costs a timeout, never a stuck writer thread.
class PostgresDatabase final : public Database {
 public:
  explicit PostgresDatabase(std::string uri) : uri_(std::move(uri)) {}
  ~PostgresDatabase() override { close(); }

  SqlDialect dialect() const override { return SqlDialect::postgres; }
  DatabaseKind kind() const override { return DatabaseKind::postgres; }
  std::optional<DbError> open(Deadline deadline) override;
  bool is_open() const override { return conn_ != nullptr; }
  void close() override;
  std::variant<Rows, DbError> run(const Statement& statement, Deadline deadline) override;
  std::optional<DbError> prepare(const std::string& sql, Deadline deadline) override;
  void interrupt() override { interrupted_ = true; }

 private:
  // Waits until the socket is readable (or writable too, when `write`); false on timeout,
  // interrupt or a poll error.
  bool wait(bool write, Deadline deadline) const;
  DbError fail(std::string message);  // closes the connection
  // Hands each result of the statement sent to `on` (which must not keep it), waiting for each
  // within `deadline`; an error when the connection is lost on the way.
  std::optional<DbError> each_result(Deadline deadline, const std::function<void(pg_result*)>& on);

  std::string uri_;
  pg_conn* conn_ = nullptr;
  std::atomic<bool> interrupted_{false};
};

}  // namespace realtime::storage
