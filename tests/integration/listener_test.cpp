// Every shard listens on the same port (SO_REUSEPORT) and accepts its own connections; the port
// is still ours alone: a second server on it fails at start instead of quietly taking half of
// the connections.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "support/run_process.hpp"
#include "support/server_process.hpp"
#include "support/test_helpers.hpp"
#include "support/ws_client.hpp"

namespace realtime::testing {
namespace {

using namespace std::chrono_literals;

TEST(ListenerTest, EveryShardAcceptsAndEveryConnectionIsServed) {
  // More shards than cores: the kernel spreads connections over four listening sockets, and a
  // shard whose listener did not accept would leave some of these hanging.
  ServerProcess server(ServerProcess::DevArgs({"--threads", "4"}));
  std::vector<std::unique_ptr<WsClient>> clients;
  for (int i = 0; i < 64; ++i) {
    clients.push_back(ConnectUser(server.port(), "u" + std::to_string(i), {"room:1"}));
  }
  ASSERT_EQ(Publish(server.port(), "room:1", "e", "1").status, 202);
  for (auto& c : clients) EXPECT_EQ(ExpectEvent(*c, "room:1", "e"), boost::json::value(1));
}

TEST(ListenerTest, ASecondServerOnTheSamePortFailsAtStart) {
  ServerProcess first(ServerProcess::DevArgs({"--threads", "2"}));
  const auto second = RunProcess({ServerBinary(), "--dev", "--host", "127.0.0.1", "--port",
                                  std::to_string(first.port()), "--threads", "2"},
                                 {{"DATABASE_URL", "none"}}, {}, 60s);
  EXPECT_NE(second.exit_code, 0) << second.output;
  EXPECT_NE(second.output.find("in use"), std::string::npos) << second.output;
  // The first one still serves.
  auto client = ConnectUser(first.port(), "after", {"room:1"});
  ASSERT_EQ(Publish(first.port(), "room:1", "e", "2").status, 202);
  EXPECT_EQ(ExpectEvent(*client, "room:1", "e"), boost::json::value(2));
}

}  // namespace
}  // namespace realtime::testing
