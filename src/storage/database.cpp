#include "storage/database.hpp"

#include "storage/postgres_database.hpp"
#include "storage/sqlite_database.hpp"

namespace realtime::storage {

std::unique_ptr<Database> make_database(const DatabaseUrl& url) {
  switch (url.kind) {
    case DatabaseKind::postgres:
      return std::make_unique<PostgresDatabase>(url.target);
    case DatabaseKind::sqlite:
      return std::make_unique<SqliteDatabase>(url.target);
    case DatabaseKind::none:
      break;
  }
  return nullptr;
}

}  // namespace realtime::storage
