#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

struct redisContext;
struct redisReply;

namespace realtime::testing {

// A private redis-server on a free port, for the Redis engine's tests. Stop() and Start() keep
// the port, so servers configured with it reconnect to the new instance.
class RedisProcess {
 public:
  // `tls`: also a TLS port, with a fresh self-signed certificate for "localhost" (openssl).
  explicit RedisProcess(bool tls = false);
  // With more redis-server arguments, e.g. {"--replicaof", "127.0.0.1", "6379"}.
  explicit RedisProcess(std::vector<std::string> extra_args);
  ~RedisProcess();
  RedisProcess(const RedisProcess&) = delete;
  RedisProcess& operator=(const RedisProcess&) = delete;

  std::uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  std::string Url() const { return "redis://127.0.0.1:" + std::to_string(port_); }
  // The same server on its unix socket.
  std::string UnixUrl() const { return "unix://" + socket_path_; }
  // The TLS port, trusting the certificate (tls only); `trusted` false: the system's CAs only.
  std::string TlsUrl(bool trusted = true) const {
    return "rediss://localhost:" + std::to_string(tls_port_) +
           (trusted ? "?ssl_ca_certs=" + cert_file_ : std::string());
  }

  void Start();
  // SIGKILL: no goodbye to the clients, like a crash or a network cut.
  void Kill();
  // SIGTERM, waited for: Redis' own orderly shutdown (clients see their connections close).
  void Shutdown();
  // SIGSTOP / SIGCONT: frozen, its sockets open and silent (a hung host, a long GC-like pause).
  void Freeze();
  void Thaw();

  // Runs a command (blocking, hiredis) and returns the reply as text: strings and status as
  // is, integers as digits, nil as "(nil)", arrays as their elements joined by '\n'. Throws on
  // connection errors and error replies.
  std::string Command(const std::vector<std::string>& args) const;

 private:
  void StartOnFreePort(bool tls);
  std::string RdbFile() const;  // in /tmp

  std::vector<std::string> extra_args_;
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
  std::string socket_path_;
  std::uint16_t tls_port_ = 0;  // 0: no TLS
  std::string cert_file_, key_file_;
};

// A Redis Sentinel on a free port monitoring the master at 127.0.0.1:`master_port` as
// `master_name` (quorum 2, down after 1 s, failover timeout 5 s). Killed by its destructor.
class SentinelProcess {
 public:
  explicit SentinelProcess(std::uint16_t master_port, std::string master_name = "mymaster");
  ~SentinelProcess();
  SentinelProcess(const SentinelProcess&) = delete;
  SentinelProcess& operator=(const SentinelProcess&) = delete;

  std::uint16_t port() const { return port_; }
  // Like RedisProcess::Command, on the sentinel.
  std::string Command(const std::vector<std::string>& args) const;

 private:
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
  std::string config_file_;
};

struct RedisReplyFree {
  void operator()(redisReply* r) const;
};
using RedisReply = std::unique_ptr<redisReply, RedisReplyFree>;

// A blocking command on 127.0.0.1:`port`: the reply, error replies included; throws only when
// Redis can't be reached.
RedisReply RedisRun(std::uint16_t port, const std::vector<std::string>& args);
// A reply as text (see RedisProcess::Command); throws on an error reply.
std::string RedisReplyText(const redisReply& reply);
// Both: the reply of a command as text (see RedisProcess::Command).
std::string RedisCommand(std::uint16_t port, const std::vector<std::string>& args);

// A blocking pub/sub listener, as a backend would be.
class RedisSubscriber {
 public:
  RedisSubscriber(std::uint16_t port, const std::string& channel);
  ~RedisSubscriber();
  RedisSubscriber(const RedisSubscriber&) = delete;
  RedisSubscriber& operator=(const RedisSubscriber&) = delete;
  // The payload of the next message; throws after `timeout`.
  std::string Next(std::chrono::milliseconds timeout);

 private:
  ::redisContext* context_ = nullptr;
};

}  // namespace realtime::testing
