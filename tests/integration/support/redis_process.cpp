#include "support/redis_process.hpp"
#include "support/test_helpers.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <thread>

namespace realtime::testing {
namespace {

enum class Started { ok, exited, timed_out };

// Waits until the server on `port` answers PING (generous for a loaded machine), or its
// process `pid` exits.
Started WaitForPong(std::uint16_t port, pid_t pid) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    try {
      if (RedisCommand(port, {"PING"}) == "PONG") return Started::ok;
    } catch (const std::exception&) {
    }
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) return Started::exited;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return Started::timed_out;
}

}  // namespace

RedisProcess::RedisProcess(bool tls) {
  if (tls) {
    const std::string base = "/tmp/rt-redis-tls-" + std::to_string(getpid()) + "-" +
                             std::to_string(reinterpret_cast<std::uintptr_t>(this));
    cert_file_ = base + "-cert.pem";
    key_file_ = base + "-key.pem";
    const std::string cmd =
        "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost -addext "
        "subjectAltName=DNS:localhost -keyout " +
        key_file_ + " -out " + cert_file_ + " >/dev/null 2>&1";
    if (std::system(cmd.c_str()) != 0) throw std::runtime_error("openssl could not make a cert");
  }
  StartOnFreePort(tls);
}

RedisProcess::RedisProcess(std::vector<std::string> extra_args)
    : extra_args_(std::move(extra_args)) {
  StartOnFreePort(false);
}

void RedisProcess::StartOnFreePort(bool tls) {
  // The free port may be taken by someone else before redis-server binds it: try another.
  for (int attempt = 1;; ++attempt) {
    port_ = FreePort();
    if (tls) tls_port_ = FreePort();
    socket_path_ =
        "/tmp/rt-redis-" + std::to_string(getpid()) + "-" + std::to_string(port_) + ".sock";
    try {
      Start();
      return;
    } catch (const std::exception&) {
      if (attempt == 5) throw;
    }
  }
}

RedisProcess::~RedisProcess() {
  Kill();
  if (!cert_file_.empty()) {
    unlink(cert_file_.c_str());
    unlink(key_file_.c_str());
  }
}

void RedisProcess::Start() {
  if (pid_ > 0) return;
  const std::string port = std::to_string(port_);
  const std::string rdb_file = RdbFile();  // before fork: named by the test's pid
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive a crashed test
    // Its start-up banner and warnings would drown the test output.
    const int null_fd = open("/dev/null", O_WRONLY);
    if (null_fd >= 0) dup2(null_fd, STDOUT_FILENO);
    const std::string tls_port = std::to_string(tls_port_);
    std::vector<const char*> argv{"redis-server", "--port", port.c_str(), "--bind", "127.0.0.1",
                                  "--save", "", "--appendonly", "no", "--loglevel", "warning",
                                  "--unixsocket", socket_path_.c_str(), "--unixsocketperm", "700",
                                  // A replica writes what it syncs to disk, --save '' or not.
                                  "--dir", "/tmp", "--dbfilename", rdb_file.c_str()};
    if (tls_port_ != 0) {
      for (const char* a : {"--tls-port", tls_port.c_str(), "--tls-cert-file", cert_file_.c_str(),
                            "--tls-key-file", key_file_.c_str(), "--tls-ca-cert-file",
                            cert_file_.c_str(), "--tls-auth-clients", "no"}) {
        argv.push_back(a);
      }
    }
    for (const std::string& a : extra_args_) argv.push_back(a.c_str());
    argv.push_back(nullptr);
    execvp("redis-server", const_cast<char* const*>(argv.data()));
    _exit(127);
  }
  switch (WaitForPong(port_, pid_)) {
    case Started::ok:
      return;
    case Started::exited:
      pid_ = -1;
      throw std::runtime_error("redis-server exited at start (is it installed?)");
    case Started::timed_out:
      throw std::runtime_error("redis-server did not answer PING within 30 s");
  }
}

std::string RedisProcess::RdbFile() const {
  return "rt-redis-" + std::to_string(getpid()) + "-" + std::to_string(port_) + ".rdb";
}

void RedisProcess::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
  unlink(socket_path_.c_str());
  unlink(("/tmp/" + RdbFile()).c_str());
}

void RedisProcess::Shutdown() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
  unlink(socket_path_.c_str());
}

void RedisProcess::Freeze() {
  if (pid_ > 0) kill(pid_, SIGSTOP);
}

void RedisProcess::Thaw() {
  if (pid_ > 0) kill(pid_, SIGCONT);
}

std::string RedisProcess::Command(const std::vector<std::string>& args) const {
  return RedisCommand(port_, args);
}

void RedisReplyFree::operator()(redisReply* r) const { freeReplyObject(r); }

RedisReply RedisRun(std::uint16_t port, const std::vector<std::string>& args) {
  timeval timeout{5, 0};
  redisContext* c = redisConnectWithTimeout("127.0.0.1", port, timeout);
  if (c == nullptr || c->err) {
    std::string why = c != nullptr ? c->errstr : "out of memory";
    if (c != nullptr) redisFree(c);
    throw std::runtime_error("cannot connect to redis on " + std::to_string(port) + ": " + why);
  }
  std::vector<const char*> argv;
  std::vector<std::size_t> lens;
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  RedisReply reply(static_cast<redisReply*>(
      redisCommandArgv(c, static_cast<int>(args.size()), argv.data(), lens.data())));
  const std::string why = c->errstr;
  redisFree(c);
  if (reply == nullptr) throw std::runtime_error("redis command failed: " + why);
  return reply;
}

std::string RedisReplyText(const redisReply& r) {
  switch (r.type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
      return std::string(r.str, r.len);
    case REDIS_REPLY_INTEGER:
      return std::to_string(r.integer);
    case REDIS_REPLY_NIL:
      return "(nil)";
    case REDIS_REPLY_ARRAY: {
      std::string out;
      for (std::size_t i = 0; i < r.elements; ++i) {
        if (i > 0) out += '\n';
        out += RedisReplyText(*r.element[i]);
      }
      return out;
    }
    default:
      throw std::runtime_error("redis error: " + std::string(r.str, r.len));
  }
}

std::string RedisCommand(std::uint16_t port, const std::vector<std::string>& args) {
  return RedisReplyText(*RedisRun(port, args));
}

SentinelProcess::SentinelProcess(std::uint16_t master_port, std::string master_name) {
  for (int attempt = 1;; ++attempt) {
    port_ = FreePort();
    // A sentinel rewrites its config file (what it learns of replicas and other sentinels).
    config_file_ =
        "/tmp/rt-sentinel-" + std::to_string(getpid()) + "-" + std::to_string(port_) + ".conf";
    {
      std::ofstream conf(config_file_);
      conf << "port " << port_ << "\nbind 127.0.0.1\nlogfile \"\"\nloglevel warning\n"
           << "sentinel monitor " << master_name << " 127.0.0.1 " << master_port << " 2\n"
           << "sentinel down-after-milliseconds " << master_name << " 1000\n"
           << "sentinel failover-timeout " << master_name << " 5000\n";
    }
    pid_ = fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      const int null_fd = open("/dev/null", O_WRONLY);
      if (null_fd >= 0) dup2(null_fd, STDOUT_FILENO);
      execlp("redis-server", "redis-server", config_file_.c_str(), "--sentinel", nullptr);
      _exit(127);
    }
    if (WaitForPong(port_, pid_) == Started::ok) return;  // else the port was taken: another
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
    unlink(config_file_.c_str());
    if (attempt == 5) throw std::runtime_error("redis sentinel did not start");
  }
}

SentinelProcess::~SentinelProcess() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  unlink(config_file_.c_str());
}

std::string SentinelProcess::Command(const std::vector<std::string>& args) const {
  return RedisCommand(port_, args);
}

RedisSubscriber::RedisSubscriber(std::uint16_t port, const std::string& channel) {
  timeval timeout{5, 0};
  context_ = redisConnectWithTimeout("127.0.0.1", port, timeout);
  if (context_ == nullptr || context_->err) {
    throw std::runtime_error("cannot connect to redis");
  }
  auto* reply = static_cast<redisReply*>(redisCommand(context_, "SUBSCRIBE %s", channel.c_str()));
  if (reply == nullptr) throw std::runtime_error("SUBSCRIBE failed");
  freeReplyObject(reply);  // the confirmation: subscribed from here on
}

RedisSubscriber::~RedisSubscriber() {
  if (context_ != nullptr) redisFree(context_);
}

std::string RedisSubscriber::Next(std::chrono::milliseconds timeout) {
  const auto ms = timeout.count();
  timeval tv{static_cast<time_t>(ms / 1000), static_cast<suseconds_t>((ms % 1000) * 1000)};
  redisSetTimeout(context_, tv);
  void* raw = nullptr;
  if (redisGetReply(context_, &raw) != REDIS_OK || raw == nullptr) {
    // A timed-out context is unusable: reconnecting is the caller's business (tests end here).
    throw std::runtime_error("no message within the timeout");
  }
  auto* reply = static_cast<redisReply*>(raw);
  std::string payload;
  if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 3) {
    payload.assign(reply->element[2]->str, reply->element[2]->len);
  }
  freeReplyObject(reply);
  return payload;
}

}  // namespace realtime::testing
