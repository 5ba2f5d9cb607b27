#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace realtime::testing {

// A real PostgreSQL server in a temporary directory on a free port, with a database `realtime`,
// for as long as this object lives. As root it runs as the `postgres` user (initdb refuses
// root). Stop() and Start() restart it on the same port and data directory.
class PostgresServer {
 public:
  // The directory of initdb/pg_ctl (the newest installed version), empty when absent.
  static std::string BinDir();

  PostgresServer();  // throws with the reason (and the server's log) when it can't start
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  void Stop();
  void Start();

  std::uint16_t port() const { return port_; }
  // postgres://postgres@127.0.0.1:PORT/realtime?sslmode=disable
  std::string Url() const;
  // Runs `sql` in database `realtime`; every value as text. Throws on error.
  std::vector<std::vector<std::string>> Query(const std::string& sql) const;

 private:
  // Runs a PostgreSQL tool from BinDir() (as postgres when root); throws when it fails.
  void Tool(std::vector<std::string> argv) const;
  std::string Log() const;

  std::string dir_;
  std::uint16_t port_ = 0;
  bool running_ = false;
};

}  // namespace realtime::testing
