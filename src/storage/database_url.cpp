#include "storage/database_url.hpp"

#include <libpq-fe.h>

#include <stdexcept>

#include "util/url_mask.hpp"

namespace realtime::storage {
namespace {

constexpr std::string_view accepted =
    "expected postgres://USER:PASSWORD@HOST:PORT/DB[?sslmode=...], sqlite:PATH or none";

}  // namespace

std::string_view to_string(DatabaseKind kind) {
  switch (kind) {
    case DatabaseKind::none:
      return "none";
    case DatabaseKind::sqlite:
      return "sqlite";
    case DatabaseKind::postgres:
      return "postgres";
  }
  return "none";
}

std::string DatabaseUrl::describe() const {
  if (kind == DatabaseKind::none) return "none (persistence off)";
  if (kind == DatabaseKind::sqlite) {
    return "sqlite:" + target + (defaulted ? " (default: DATABASE_URL is not set)" : "");
  }
  return mask_url_password(target);
}

DatabaseUrl parse_database_url(std::string_view value) {
  DatabaseUrl out;
  out.defaulted = false;
  if (value == "none") {
    out.kind = DatabaseKind::none;
    out.target.clear();
    return out;
  }
  if (value.starts_with("sqlite:")) {
    std::string_view path = value.substr(7);
    if (path.starts_with("//")) path.remove_prefix(2);  // sqlite:///abs/path -> /abs/path
    if (path.empty())
      throw std::invalid_argument("the sqlite: URL has no path; " + std::string(accepted));
    if (path.find('\0') != std::string_view::npos) {
      throw std::invalid_argument("the sqlite: path contains a NUL byte");
    }
    out.kind = DatabaseKind::sqlite;
    out.target = std::string(path);
    return out;
  }
  if (value.starts_with("postgres://") || value.starts_with("postgresql://")) {
    const std::string uri(value);
    char* error = nullptr;
    PQconninfoOption* options = PQconninfoParse(uri.c_str(), &error);
    if (options == nullptr) {
      std::string message = error != nullptr ? error : "out of memory";
      PQfreemem(error);
      while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) {
        message.pop_back();
      }
      throw std::invalid_argument("libpq cannot parse it: " + message);
    }
    PQconninfoFree(options);
    out.kind = DatabaseKind::postgres;
    out.target = uri;
    return out;
  }
  throw std::invalid_argument("unknown scheme; " + std::string(accepted));
}

}  // namespace realtime::storage
