#include "storage/migrate.hpp"

#include <charconv>

namespace realtime::storage {
namespace {

// Any fixed number: the key of the advisory lock all nodes take while migrating.
constexpr std::string_view advisory_lock_key = "7306823171";

}  // namespace

std::string schema_version_sql() {
  return "SELECT COALESCE(MAX(version), 0) FROM " + std::string(migrations_table);
}

int migrations_applied(SqlDialect dialect, int version) {
  int n = 0;
  for (const Migration& m : migrations(dialect)) n += m.version <= version;
  return n;
}

std::variant<int, DbError> migrate(Database& db, Deadline deadline) {
  const SqlDialect dialect = db.dialect();
  auto exec = [&](std::string sql, std::vector<std::string> params = {}) {
    return db.run({std::move(sql), std::move(params)}, deadline);
  };
  auto failed = [&](std::variant<Rows, DbError>& r) -> DbError* {
    return std::get_if<DbError>(&r);
  };

  auto begin = exec(dialect == SqlDialect::postgres ? "BEGIN" : "BEGIN IMMEDIATE");
  if (auto* e = failed(begin)) return *e;
  auto rollback = [&](DbError e) -> std::variant<int, DbError> {
    if (db.is_open()) exec("ROLLBACK");
    return e;
  };
  if (dialect == SqlDialect::postgres) {
    auto lock = exec("SELECT pg_advisory_xact_lock(" + std::string(advisory_lock_key) + ")");
    if (auto* e = failed(lock)) return rollback(*e);
  }
  auto table = exec(create_migrations_table_sql(dialect));
  if (auto* e = failed(table)) return rollback(*e);
  auto current = exec(schema_version_sql());
  if (auto* e = failed(current)) return rollback(*e);
  int version = 0;
  const Rows& rows = std::get<Rows>(current);
  if (!rows.empty() && !rows[0].empty()) {
    const std::string& v = rows[0][0];
    std::from_chars(v.data(), v.data() + v.size(), version);
  }
  int applied = 0;
  for (const Migration& m : migrations(dialect)) {
    if (m.version <= version) continue;
    for (const auto& sql : m.statements) {
      auto r = exec(sql);
      if (auto* e = failed(r)) return rollback(*e);
    }
    auto record = exec("INSERT INTO " + std::string(migrations_table) + " (version) VALUES (" +
                           (dialect == SqlDialect::postgres ? "$1::integer" : "?1") + ")",
                       {std::to_string(m.version)});
    if (auto* e = failed(record)) return rollback(*e);
    ++applied;
  }
  auto commit = exec("COMMIT");
  if (auto* e = failed(commit)) return rollback(*e);
  return applied;
}

std::variant<int, DbError> migrate_database(const DatabaseUrl& url, Deadline deadline) {
  auto db = make_database(url);
  if (db == nullptr) return 0;
  if (auto err = db->open(deadline)) return *err;
  return migrate(*db, deadline);
}

}  // namespace realtime::storage
