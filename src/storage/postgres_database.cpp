#include "storage/postgres_database.hpp"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <functional>

namespace realtime::storage {
namespace {

std::string trimmed(const char* text) {
  std::string out = text != nullptr ? text : "";
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

// SQLSTATE classes 22 (data exception) and 23 (integrity constraint): the rows are at fault.
bool is_data_error(const PGresult* result) {
  const char* state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
  return state != nullptr && state[0] == '2' && (state[1] == '2' || state[1] == '3');
}

}  // namespace

void PostgresDatabase::close() {
  if (conn_ != nullptr) PQfinish(conn_);
  conn_ = nullptr;
}

DbError PostgresDatabase::fail(std::string message) {
  close();
  return {std::move(message), false};
}

bool PostgresDatabase::wait(bool write, Deadline deadline) const {
  pollfd p{PQsocket(conn_), static_cast<short>(POLLIN | (write ? POLLOUT : 0)), 0};
  if (p.fd < 0) return false;
  for (;;) {
    if (interrupted_) return false;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    // Short slices, so interrupt() is seen promptly.
    const int r = ::poll(&p, 1, static_cast<int>(std::min<std::int64_t>(left.count(), 100)));
    if (r > 0) return true;
    if (r < 0 && errno != EINTR) return false;
  }
}

std::optional<DbError> PostgresDatabase::open(Deadline deadline) {
  if (interrupted_) return DbError{"interrupted", false};
  if (conn_ != nullptr) return std::nullopt;
  // Defaults first: the URI (expanded from dbname) comes later and overrides any of them.
  const char* keys[] = {"connect_timeout",
                        "keepalives_idle",
                        "keepalives_interval",
                        "keepalives_count",
                        "application_name",
                        "dbname",
                        nullptr};
  const char* values[] = {"10", "10", "5", "3", "nself-realtime", uri_.c_str(), nullptr};
  conn_ = PQconnectStartParams(keys, values, 1);
  if (conn_ == nullptr) return DbError{"libpq: out of memory", false};
  if (PQstatus(conn_) == CONNECTION_BAD) return fail(trimmed(PQerrorMessage(conn_)));
  PostgresPollingStatusType state = PGRES_POLLING_WRITING;
  while (state != PGRES_POLLING_OK) {
    if (state == PGRES_POLLING_FAILED) return fail(trimmed(PQerrorMessage(conn_)));
    if (!wait(state == PGRES_POLLING_WRITING, deadline)) {
      return fail(interrupted_ ? "interrupted" : "timed out connecting");
    }
    state = PQconnectPoll(conn_);
  }
  if (PQsetnonblocking(conn_, 1) != 0) return fail(trimmed(PQerrorMessage(conn_)));
  return std::nullopt;
}

std::variant<Rows, DbError> PostgresDatabase::run(const Statement& statement, Deadline deadline) {
  if (interrupted_) return DbError{"interrupted", false};
  if (conn_ == nullptr) return DbError{"not connected", false};
  std::vector<const char*> params;
  params.reserve(statement.params.size());
  for (const auto& p : statement.params) params.push_back(p.c_str());
  if (PQsendQueryParams(conn_, statement.sql.c_str(), static_cast<int>(params.size()), nullptr,
                        params.data(), nullptr, nullptr, 0) == 0) {
    return fail(trimmed(PQerrorMessage(conn_)));
  }
  for (;;) {
    const int flushed = PQflush(conn_);
    if (flushed == 0) break;
    if (flushed < 0) return fail(trimmed(PQerrorMessage(conn_)));
    if (!wait(true, deadline)) return fail(interrupted_ ? "interrupted" : "timed out sending");
    if (PQconsumeInput(conn_) == 0) return fail(trimmed(PQerrorMessage(conn_)));
  }
  Rows rows;
  std::optional<DbError> error;
  if (auto lost = each_result(deadline, [&](PGresult* result) {
        switch (PQresultStatus(result)) {
          case PGRES_TUPLES_OK:
            for (int r = 0; r < PQntuples(result); ++r) {
              auto& row = rows.emplace_back();
              for (int c = 0; c < PQnfields(result); ++c) {
                row.emplace_back(PQgetvalue(result, r, c),
                                 static_cast<std::size_t>(PQgetlength(result, r, c)));
              }
            }
            break;
          case PGRES_COMMAND_OK:
          case PGRES_EMPTY_QUERY:
            break;
          default:
            if (!error) error = DbError{trimmed(PQresultErrorMessage(result)), is_data_error(result)};
        }
      })) {
    return *lost;
  }
  if (PQstatus(conn_) == CONNECTION_BAD) {
    return fail(error ? error->message : trimmed(PQerrorMessage(conn_)));
  }
  if (error) return *error;
  return rows;
}

std::optional<DbError> PostgresDatabase::each_result(Deadline deadline,
                                                     const std::function<void(PGresult*)>& on) {
  for (;;) {
    while (PQisBusy(conn_) != 0) {
      if (!wait(false, deadline)) return fail(interrupted_ ? "interrupted" : "timed out waiting");
      if (PQconsumeInput(conn_) == 0) return fail(trimmed(PQerrorMessage(conn_)));
    }
    PGresult* result = PQgetResult(conn_);
    if (result == nullptr) return std::nullopt;
    on(result);
    PQclear(result);
  }
}

std::optional<DbError> PostgresDatabase::prepare(const std::string& sql, Deadline deadline) {
  if (interrupted_) return DbError{"interrupted", false};
  if (conn_ == nullptr) return DbError{"not connected", false};
  // The unnamed statement: replaced by the next one, nothing to deallocate.
  if (PQsendPrepare(conn_, "", sql.c_str(), 0, nullptr) == 0) {
    return fail(trimmed(PQerrorMessage(conn_)));
  }
  std::optional<DbError> error;
  if (auto lost = each_result(deadline, [&](PGresult* result) {
        if (PQresultStatus(result) != PGRES_COMMAND_OK && !error) {
          error = DbError{trimmed(PQresultErrorMessage(result)), is_data_error(result)};
        }
      })) {
    return lost;
  }
  return error;
}

}  // namespace realtime::storage
