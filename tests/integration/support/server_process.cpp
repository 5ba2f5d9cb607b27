#include "support/server_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <stdexcept>

extern char** environ;

namespace realtime::testing {
namespace {

constexpr std::string_view kListeningMarker = "listening on 127.0.0.1:";
// The log is kept for diagnostics only; cap it so a chatty server can't eat the test's memory.
constexpr std::size_t kMaxLogBytes = 4 * 1024 * 1024;

bool IsServerSetting(std::string_view entry) {
  return entry.starts_with("REALTIME_") || entry.starts_with("HASURA_GRAPHQL_") ||
         entry.starts_with("PORT=") || entry.starts_with("PLUGIN_INTERNAL_SECRET=") ||
         entry.starts_with("REDIS_") || entry.starts_with("DATABASE_URL=");
}

std::vector<std::string> BuildEnv(const ServerProcess::Env& extra) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    if (!IsServerSetting(*e)) env.emplace_back(*e);
  }
  for (const auto& [name, value] : extra) env.push_back(name + "=" + value);
  return env;
}

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

}  // namespace

std::string ServerBinary() { return REALTIME_SERVER_BINARY; }

std::vector<std::string> ServerProcess::DevArgs(std::vector<std::string> extra) {
  extra.insert(extra.begin(), "--dev");
  return extra;
}

std::vector<std::string> ServerProcess::ProductionArgs(const std::string& cors_origin,
                                                       const std::string& api_key) {
  return {"--cors-origin", cors_origin, "--api-key", api_key};
}

ServerProcess::Env ServerProcess::ProductionEnv() {
  return {{"HASURA_GRAPHQL_JWT_SECRET",
           R"({"type":"HS256","key":"integration-tests-hs256-secret-0123456789"})"}};
}

ServerProcess::ServerProcess(std::vector<std::string> args, Env env, std::uint64_t max_open_files) {
  std::vector<std::string> argv_strings = {REALTIME_SERVER_BINARY, "--host", "127.0.0.1", "--port",
                                           "0"};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<std::string> env_strings = BuildEnv(env);
  // Everything the child touches is prepared before fork(): only async-signal-safe calls after.
  std::vector<char*> argv = CStrings(argv_strings);
  std::vector<char*> envp = CStrings(env_strings);
  char dir[] = "/tmp/rt-server-XXXXXX";
  if (mkdtemp(dir) == nullptr) throw std::runtime_error("mkdtemp failed");
  working_dir_ = dir;

  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  const pid_t parent = getpid();
  pid_ = fork();
  if (pid_ < 0) {
    close(fds[0]);
    close(fds[1]);
    throw std::runtime_error(std::string("fork failed: ") + std::strerror(errno));
  }
  if (pid_ == 0) {
    // If the test process dies (crash, timeout kill), the server goes with it.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    dup2(fds[1], STDERR_FILENO);
    dup2(fds[1], STDOUT_FILENO);
    // Client sockets of the test process must not leak into the server.
    syscall(SYS_close_range, 3u, ~0u, 0u);
    if (chdir(dir) != 0) _exit(126);
    if (max_open_files > 0) {
      const rlimit limit{max_open_files, max_open_files};
      if (setrlimit(RLIMIT_NOFILE, &limit) != 0) _exit(125);
    }
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  close(fds[1]);
  stderr_fd_ = fds[0];
  drainer_ = std::thread([this] { DrainStderr(); });

  std::unique_lock lock(mutex_);
  const bool ready = log_changed_.wait_for(lock, kStartupTimeout, [this] {
    return log_closed_ || log_.find(kListeningMarker) != std::string::npos;
  });
  const auto at = log_.find(kListeningMarker);
  if (!ready || at == std::string::npos) {
    std::string log = log_;
    lock.unlock();
    Stop();  // the destructor won't run for a constructor that throws
    throw std::runtime_error(std::string("server did not start listening (") +
                             (ready ? "its stderr closed" : "timeout") + "); its log:\n" + log);
  }
  port_ = static_cast<std::uint16_t>(std::stoi(log_.substr(at + kListeningMarker.size(), 5)));
}

void ServerProcess::Stop() {
  if (running()) {
    kill(pid_, SIGKILL);
    WaitForExit(std::chrono::seconds(30));
  }
  if (drainer_.joinable()) drainer_.join();
  if (stderr_fd_ >= 0) close(stderr_fd_);
  stderr_fd_ = -1;
  if (!working_dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(working_dir_, ignored);
    working_dir_.clear();
  }
}

ServerProcess::~ServerProcess() {
  Stop();
  // The server's own words are often the fastest way to see why a test failed.
  if (::testing::Test::HasFailure()) {
    std::string log = Log();
    constexpr std::size_t kTail = 8 * 1024;
    if (log.size() > kTail) log = "...\n" + log.substr(log.size() - kTail);
    std::cerr << "---- server (pid " << pid_ << ") log ----\n" << log << "---- end of log ----\n";
  }
}

void ServerProcess::DrainStderr() {
  char chunk[4096];
  for (;;) {
    const ssize_t n = read(stderr_fd_, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    std::lock_guard lock(mutex_);
    if (n <= 0) {
      log_closed_ = true;
      log_changed_.notify_all();
      return;
    }
    log_.append(chunk, static_cast<std::size_t>(n));
    if (log_.size() > kMaxLogBytes) log_.erase(0, log_.size() - kMaxLogBytes / 2);
    log_changed_.notify_all();
  }
}

void ServerProcess::Signal(int signo) const {
  if (kill(pid_, signo) != 0) {
    throw std::runtime_error(std::string("kill failed: ") + std::strerror(errno));
  }
}

std::optional<int> ServerProcess::WaitForExit(std::chrono::milliseconds timeout) {
  if (exit_status_) return exit_status_;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    const pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exit_status_ = status;
      return exit_status_;
    }
    if (r < 0 && errno != EINTR) throw std::runtime_error("waitpid failed");
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

bool ServerProcess::running() {
  return pid_ > 0 && !WaitForExit(std::chrono::milliseconds(0)).has_value();
}

std::string ServerProcess::Log() const {
  std::lock_guard lock(mutex_);
  return log_;
}

std::uint64_t ServerProcess::RssBytes() const {
  std::ifstream status("/proc/" + std::to_string(pid_) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with("VmRSS:")) return std::stoull(line.substr(6)) * 1024;  // in kB
  }
  throw std::runtime_error("no VmRSS for pid " + std::to_string(pid_));
}

std::size_t ServerProcess::OpenFdCount() const {
  std::size_t count = 0;
  for ([[maybe_unused]] const auto& entry :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid_) + "/fd")) {
    ++count;
  }
  return count;
}

std::chrono::microseconds ServerProcess::CpuTime() const { return ProcessCpuTime(pid_); }

std::chrono::microseconds ProcessCpuTime(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  // Fields after the command name, which is in parentheses and may hold spaces.
  const auto close = text.rfind(')');
  if (close == std::string::npos)
    throw std::runtime_error("no stat for pid " + std::to_string(pid));
  std::istringstream fields(text.substr(close + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  // state is field 3; utime and stime are fields 14 and 15.
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  const long ticks = sysconf(_SC_CLK_TCK);
  return std::chrono::microseconds((utime + stime) * 1000000ULL /
                                   static_cast<unsigned long long>(ticks));
}

}  // namespace realtime::testing
