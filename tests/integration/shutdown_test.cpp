// SIGTERM/SIGINT: every WebSocket is closed with 1001 and the process exits 0, even when a
// client never answers the close.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>

#include "support/server_process.hpp"
#include "support/test_helpers.hpp"

namespace realtime::testing {
namespace {

using std::chrono::seconds;

// The spec gives the server 5 s; the slack is for a loaded machine and sanitizers.
constexpr seconds kExitTimeout{20};

void ExpectCleanExit(ServerProcess& server) {
  const auto status = server.WaitForExit(kExitTimeout);
  ASSERT_TRUE(status.has_value()) << "still running " << kExitTimeout.count() << " s later";
  ASSERT_TRUE(WIFEXITED(*status)) << "killed by signal " << WTERMSIG(*status);
  EXPECT_EQ(WEXITSTATUS(*status), 0);
}

void ExpectClientsClosedWith1001OnSignal(int signo) {
  ServerProcess server(ServerProcess::DevArgs());
  std::vector<std::unique_ptr<WsClient>> clients;
  clients.push_back(ConnectUser(server.port(), "alice", {"room"}));
  clients.push_back(ConnectUser(server.port(), "bob", {"room", "other"}));
  clients.push_back(ConnectUser(server.port(), "carol"));

  server.Signal(signo);
  for (std::size_t i = 0; i < clients.size(); ++i) {
    SCOPED_TRACE("client " + std::to_string(i));
    const CloseResult closed = clients[i]->WaitForClose();
    EXPECT_TRUE(closed.close_frame) << "ended without a close frame: " << closed.error;
    EXPECT_EQ(closed.code, 1001);
  }
  ExpectCleanExit(server);
}

TEST(ShutdownTest, SigtermClosesClientsWith1001AndExitsZero) {
  ExpectClientsClosedWith1001OnSignal(SIGTERM);
}

TEST(ShutdownTest, SigintClosesClientsWith1001AndExitsZero) {
  ExpectClientsClosedWith1001OnSignal(SIGINT);
}

TEST(ShutdownTest, SigtermWithoutClientsExitsZero) {
  ServerProcess server(ServerProcess::DevArgs());
  server.Signal(SIGTERM);
  ExpectCleanExit(server);
}

TEST(ShutdownTest, ClientThatNeverAnswersTheCloseDoesNotBlockExit) {
  ServerProcess server(ServerProcess::DevArgs());
  WsConnectOptions options;
  options.receive_buffer_bytes = 4096;
  auto deaf = ConnectUser(server.port(), "deaf", {"room"}, options);
  auto polite = ConnectUser(server.port(), "polite", {"room"});

  // The deaf client reads nothing from now on, so it never answers the server's close frame.
  server.Signal(SIGTERM);
  const CloseResult closed = polite->WaitForClose();
  EXPECT_EQ(closed.code, 1001);
  ExpectCleanExit(server);
}

}  // namespace
}  // namespace realtime::testing
