#include "support/postgres_server.hpp"
#include "support/test_helpers.hpp"

#include <arpa/inet.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "support/run_process.hpp"

namespace realtime::testing {
namespace {

}  // namespace

std::string PostgresServer::BinDir() {
  std::error_code ec;
  std::vector<std::filesystem::path> found;
  for (const auto& entry : std::filesystem::directory_iterator("/usr/lib/postgresql", ec)) {
    if (std::filesystem::exists(entry.path() / "bin" / "initdb")) found.push_back(entry.path());
  }
  if (found.empty()) return {};
  // The newest version: directory names are version numbers.
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
    return std::stoi(a.filename().string()) < std::stoi(b.filename().string());
  });
  return (found.back() / "bin").string();
}

void PostgresServer::Tool(std::vector<std::string> argv) const {
  argv[0] = BinDir() + "/" + argv[0];
  if (geteuid() == 0) argv.insert(argv.begin(), {"runuser", "-u", "postgres", "--"});
  const ProcessResult r = RunProcess(argv, {}, dir_);
  if (r.exit_code != 0) {
    std::string command;
    for (const auto& a : argv) command += a + " ";
    throw std::runtime_error("postgres: `" + command + "` failed (" + std::to_string(r.exit_code) +
                             "): " + r.output + "\nlog:\n" + Log());
  }
}

std::string PostgresServer::Log() const {
  std::ifstream in(dir_ + "/log");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

PostgresServer::PostgresServer() {
  if (BinDir().empty()) throw std::runtime_error("PostgreSQL server binaries are not installed");
  char dir[] = "/tmp/rt-postgres-XXXXXX";
  if (mkdtemp(dir) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = dir;
  if (geteuid() == 0) {
    const passwd* pg = getpwnam("postgres");
    if (pg == nullptr || chown(dir, pg->pw_uid, pg->pw_gid) != 0) {
      std::filesystem::remove_all(dir_);
      throw std::runtime_error("running as root, but cannot hand " + dir_ + " to user postgres");
    }
  }
  try {
    Tool({"initdb", "-D", dir_ + "/data", "-U", "postgres", "-A", "trust", "-E", "UTF8",
          "--locale=C", "--no-sync"});
    port_ = FreePort();
    Start();
    PGconn* conn = PQconnectdb(
        ("host=127.0.0.1 port=" + std::to_string(port_) + " user=postgres dbname=postgres")
            .c_str());
    PGresult* r = PQexec(conn, "CREATE DATABASE realtime");
    const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    const std::string error = PQerrorMessage(conn);
    PQclear(r);
    PQfinish(conn);
    if (!ok) throw std::runtime_error("CREATE DATABASE failed: " + error);
  } catch (...) {
    if (running_)
      RunProcess({BinDir() + "/pg_ctl", "-D", dir_ + "/data", "-m", "immediate", "stop"});
    std::filesystem::remove_all(dir_);
    throw;
  }
}

PostgresServer::~PostgresServer() {
  if (running_) {
    try {
      Tool({"pg_ctl", "-D", dir_ + "/data", "-m", "immediate", "-w", "stop"});
    } catch (...) {
    }
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

void PostgresServer::Start() {
  // fsync off: a test database needs no durability, and the machine is busy enough.
  Tool({"pg_ctl", "-D", dir_ + "/data", "-l", dir_ + "/log", "-w", "-t", "120", "-o",
        "-p " + std::to_string(port_) + " -k " + dir_ +
            " -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off",
        "start"});
  running_ = true;
}

void PostgresServer::Stop() {
  Tool({"pg_ctl", "-D", dir_ + "/data", "-m", "fast", "-w", "-t", "120", "stop"});
  running_ = false;
}

std::string PostgresServer::Url() const {
  return "postgres://postgres@127.0.0.1:" + std::to_string(port_) + "/realtime?sslmode=disable";
}

std::vector<std::vector<std::string>> PostgresServer::Query(const std::string& sql) const {
  PGconn* conn = PQconnectdb(Url().c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    const std::string error = PQerrorMessage(conn);
    PQfinish(conn);
    throw std::runtime_error("connect to test postgres: " + error);
  }
  PGresult* r = PQexec(conn, sql.c_str());
  const auto status = PQresultStatus(r);
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
    const std::string error = PQresultErrorMessage(r);
    PQclear(r);
    PQfinish(conn);
    throw std::runtime_error("query `" + sql + "`: " + error);
  }
  std::vector<std::vector<std::string>> rows;
  for (int i = 0; i < PQntuples(r); ++i) {
    auto& row = rows.emplace_back();
    for (int c = 0; c < PQnfields(r); ++c) row.emplace_back(PQgetvalue(r, i, c));
  }
  PQclear(r);
  PQfinish(conn);
  return rows;
}

}  // namespace realtime::testing
