#include "storage/sqlite_database.hpp"

#include <sqlite3.h>

namespace realtime::storage {
namespace {

bool is_data_error(int code) {
  switch (code & 0xFF) {
    case SQLITE_CONSTRAINT:
    case SQLITE_TOOBIG:
    case SQLITE_MISMATCH:
    case SQLITE_RANGE:
      return true;
    default:
      return false;
  }
}

}  // namespace

std::optional<DbError> SqliteDatabase::open(Deadline deadline) {
  if (interrupted_) return DbError{"interrupted", false};
  if (db_ != nullptr) return std::nullopt;
  sqlite3* db = nullptr;
  const int rc =
      sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  if (rc != SQLITE_OK) {
    DbError err{"cannot open " + path_ + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)),
                false};
    sqlite3_close(db);
    return err;
  }
  db_ = db;
  live_ = db;
  // Another process (a backup, a test reading rows) may hold the lock for a moment.
  sqlite3_busy_timeout(db_, 2000);
  for (const char* pragma : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL"}) {
    auto r = run({pragma, {}}, deadline);
    if (auto* err = std::get_if<DbError>(&r)) {
      DbError out = *err;
      close();
      return out;
    }
  }
  return std::nullopt;
}

void SqliteDatabase::close() {
  live_ = nullptr;
  for (auto& [sql, stmt] : prepared_) sqlite3_finalize(stmt);
  prepared_.clear();
  if (db_ != nullptr) sqlite3_close(db_);
  db_ = nullptr;
}

void SqliteDatabase::interrupt() {
  interrupted_ = true;
  // sqlite3_interrupt is safe from any thread while the connection is open; close() only
  // happens on the owning thread, which the caller is about to join.
  if (sqlite3* db = live_.load()) sqlite3_interrupt(db);
}

std::variant<Rows, DbError> SqliteDatabase::run(const Statement& statement, Deadline) {
  if (interrupted_) return DbError{"interrupted", false};
  if (db_ == nullptr) return DbError{"not open", false};
  sqlite3_stmt* stmt = nullptr;
  bool kept = false;
  if (statement.reuse) {
    if (auto it = prepared_.find(statement.sql); it != prepared_.end()) {
      stmt = it->second;
      kept = true;
    }
  }
  if (stmt == nullptr) {
    const int rc = sqlite3_prepare_v2(db_, statement.sql.c_str(),
                                      static_cast<int>(statement.sql.size()), &stmt, nullptr);
    if (rc != SQLITE_OK) return DbError{sqlite3_errmsg(db_), is_data_error(rc)};
    if (statement.reuse && prepared_.size() < max_prepared) {
      prepared_.emplace(statement.sql, stmt);
      kept = true;
    }
  }
  // A kept statement is reset for its next run; any other is finalized.
  auto done = [&](std::variant<Rows, DbError> result) -> std::variant<Rows, DbError> {
    if (kept) {
      sqlite3_reset(stmt);
      sqlite3_clear_bindings(stmt);
    } else {
      sqlite3_finalize(stmt);
    }
    return result;
  };
  for (std::size_t i = 0; i < statement.params.size(); ++i) {
    const std::string& p = statement.params[i];
    // Static: the parameters outlive the run, and the bindings are cleared before it returns.
    const int rc = sqlite3_bind_text(stmt, static_cast<int>(i + 1), p.data(),
                                     static_cast<int>(p.size()), SQLITE_STATIC);
    if (rc != SQLITE_OK) return done(DbError{sqlite3_errmsg(db_), is_data_error(rc)});
  }
  Rows rows;
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    std::vector<std::string>& row = rows.emplace_back();
    const int columns = sqlite3_column_count(stmt);
    for (int c = 0; c < columns; ++c) {
      const auto* text = sqlite3_column_text(stmt, c);
      row.emplace_back(text ? reinterpret_cast<const char*>(text) : "",
                       static_cast<std::size_t>(sqlite3_column_bytes(stmt, c)));
    }
  }
  if (rc != SQLITE_DONE) return done(DbError{sqlite3_errmsg(db_), is_data_error(rc)});
  return done(std::move(rows));
}

std::optional<DbError> SqliteDatabase::prepare(const std::string& sql, Deadline) {
  if (db_ == nullptr) return DbError{"not open", false};
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v2(db_, sql.c_str(), static_cast<int>(sql.size()), &stmt, nullptr);
  sqlite3_finalize(stmt);
  if (rc != SQLITE_OK) return DbError{sqlite3_errmsg(db_), false};
  return std::nullopt;
}

}  // namespace realtime::storage
