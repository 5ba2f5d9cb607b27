#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace realtime::testing {

// How long a server may take to print its listening line: generous, because the machine may be
// loaded and the server may run under AddressSanitizer.
inline constexpr std::chrono::seconds kStartupTimeout{60};

// The real nself-realtime binary as a child process. The constructor returns once the server
// accepts connections; the destructor kills whatever is still running, so no test leaves a
// server behind.
class ServerProcess {
 public:
  using Env = std::vector<std::pair<std::string, std::string>>;

  // Runs the binary with `args` (after --host 127.0.0.1 --port 0) and `env` on top of a copy of
  // this process's environment from which every server setting (REALTIME_*, HASURA_GRAPHQL_*,
  // PORT, PLUGIN_INTERNAL_SECRET, DATABASE_URL) has been removed. Each server runs in a fresh
  // temporary working directory (removed with it), so its default SQLite file ./realtime.db
  // lands there and never in the caller's directory.
  // `max_open_files`, when not 0, is the server's RLIMIT_NOFILE (set before exec), for tests of
  // running out of file descriptors.
  explicit ServerProcess(std::vector<std::string> args, Env env = {},
                         std::uint64_t max_open_files = 0);
  ~ServerProcess();

  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // A development-mode server (--dev) with extra flags.
  static std::vector<std::string> DevArgs(std::vector<std::string> extra = {});
  // A production-mode server (no --dev): it needs allowed origins and the server-side key.
  static std::vector<std::string> ProductionArgs(const std::string& cors_origin,
                                                 const std::string& api_key);
  // What a production-mode server needs in its environment besides flags: Hasura's JWT config
  // (a test secret; these tests present no JWTs).
  static Env ProductionEnv();

  std::uint16_t port() const { return port_; }
  const std::string& WorkingDir() const { return working_dir_; }
  pid_t pid() const { return pid_; }

  void Signal(int signo) const;
  // The raw waitpid() status once the process exited, nullopt if it still runs after `timeout`.
  std::optional<int> WaitForExit(std::chrono::milliseconds timeout);
  bool running();

  // Everything the server wrote to stderr so far.
  std::string Log() const;
  // Resident set size from /proc/PID/status, in bytes.
  std::uint64_t RssBytes() const;
  // Number of open file descriptors, from /proc/PID/fd.
  std::size_t OpenFdCount() const;
  // CPU time the process has used so far (user + system, every thread), from /proc/PID/stat.
  std::chrono::microseconds CpuTime() const;

 private:
  void DrainStderr();
  // Kills the process if it still runs and reaps it and the log reader.
  void Stop();

  std::string working_dir_;
  pid_t pid_ = -1;
  int stderr_fd_ = -1;
  std::uint16_t port_ = 0;
  std::optional<int> exit_status_;
  std::thread drainer_;
  mutable std::mutex mutex_;
  std::condition_variable log_changed_;
  std::string log_;
  bool log_closed_ = false;
};

// The path of the nself-realtime binary under test.
std::string ServerBinary();

// CPU time a process has used so far (user + system, every thread), from /proc/PID/stat.
std::chrono::microseconds ProcessCpuTime(pid_t pid);

}  // namespace realtime::testing
