// sd_notify readiness (the unit is Type=notify): the server sends READY=1 once its port accepts
// connections, STOPPING=1 when told to stop, and nothing when it cannot start. The test plays
// systemd's part: a datagram socket named in NOTIFY_SOCKET.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <optional>
#include <string>

#include "support/run_process.hpp"
#include "support/server_process.hpp"
#include "support/test_helpers.hpp"

namespace realtime::testing {
namespace {

using namespace std::chrono_literals;

// A bound AF_UNIX datagram socket in a fresh temporary directory.
class NotifySocket {
 public:
  NotifySocket() {
    char dir[] = "/tmp/rt-notify-XXXXXX";
    dir_ = ::mkdtemp(dir);
    path_ = dir_ + "/notify.sock";
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    path_.copy(addr.sun_path, sizeof addr.sun_path - 1);
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      throw std::runtime_error("cannot bind " + path_);
    }
  }
  ~NotifySocket() {
    ::close(fd_);
    std::filesystem::remove_all(dir_);
  }

  const std::string& path() const { return path_; }

  // The next message, nullopt after `timeout`.
  std::optional<std::string> Receive(std::chrono::milliseconds timeout) const {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) return std::nullopt;
    char buf[4096];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n < 0) return std::nullopt;
    return std::string(buf, static_cast<std::size_t>(n));
  }

 private:
  std::string dir_;
  std::string path_;
  int fd_ = -1;
};

TEST(SystemdNotifyTest, ReadyOnceTheRealPortListensAndStoppingOnSigterm) {
  NotifySocket notify;
  ServerProcess server(ServerProcess::DevArgs(),
                       {{"NOTIFY_SOCKET", notify.path()}, {"DATABASE_URL", "none"}});
  const auto ready = notify.Receive(30s);
  ASSERT_TRUE(ready) << "no READY=1\n" << server.Log();
  // Started with --port 0: the port in the status exists only once the socket is bound and
  // listening, so READY=1 cannot have left before.
  EXPECT_EQ(*ready, "READY=1\nSTATUS=listening on port " + std::to_string(server.port()));
  EXPECT_EQ(HttpGet(server.port(), "/health").status, 200);
  EXPECT_FALSE(notify.Receive(100ms)) << "READY=1 must be sent once";

  server.Signal(SIGTERM);
  const auto stopping = notify.Receive(30s);
  ASSERT_TRUE(stopping);
  EXPECT_TRUE(stopping->starts_with("STOPPING=1\n")) << *stopping;
  const auto status = server.WaitForExit(30s);
  ASSERT_TRUE(status);
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0);
}

TEST(SystemdNotifyTest, AServerThatCannotListenNeverSaysReady) {
  ServerProcess holder(ServerProcess::DevArgs(), {{"DATABASE_URL", "none"}});
  NotifySocket notify;
  const ProcessResult r = RunProcess(
      {ServerBinary(), "--dev", "--host", "127.0.0.1", "--port", std::to_string(holder.port())},
      {{"NOTIFY_SOCKET", notify.path()}, {"DATABASE_URL", "none"}});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_FALSE(notify.Receive(200ms));
}

TEST(SystemdNotifyTest, WithoutNotifySocketNothingChanges) {
  // The harness's own servers: no NOTIFY_SOCKET, no warning about it.
  ServerProcess server(ServerProcess::DevArgs(), {{"DATABASE_URL", "none"}});
  EXPECT_EQ(HttpGet(server.port(), "/health").status, 200);
  EXPECT_EQ(server.Log().find("sd_notify"), std::string::npos) << server.Log();
}

}  // namespace
}  // namespace realtime::testing
