// Running out of file descriptors: with a low RLIMIT_NOFILE and more connections than
// descriptors, accept() fails with EMFILE. The listener must neither spin on it (CPU from
// /proc/PID/stat, like idle_cpu_test) nor die, and a connection that waited in the backlog is
// served as soon as descriptors free up.
#include <gtest/gtest.h>

#include <iostream>
#include <memory>
#include <thread>
#include <vector>

#include "support/raw_socket.hpp"
#include "support/server_process.hpp"
#include "support/test_helpers.hpp"

namespace realtime::testing {
namespace {

using namespace std::chrono_literals;

constexpr std::uint64_t kMaxOpenFiles = 128;
constexpr auto kWindow = 3s;
// A retry every 100 ms costs next to nothing; a spinning accept loop costs a whole core.
constexpr double kMaxCoreShare = 0.20;

double CoreShareOver(const ServerProcess& server, std::chrono::milliseconds window) {
  const auto cpu_before = server.CpuTime();
  const auto start = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(window);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  return std::chrono::duration<double>(server.CpuTime() - cpu_before).count() /
         std::chrono::duration<double>(elapsed).count();
}

TEST(FdExhaustionTest, AcceptNeitherSpinsNorDiesAndServesAgainWhenDescriptorsFree) {
  ServerProcess server(ServerProcess::DevArgs({"--threads", "1"}), {}, kMaxOpenFiles);
  const std::uint16_t port = server.port();
  ASSERT_NO_FATAL_FAILURE(ExpectFreshClientWorks(port));

  // Idle connections, each holding one of the server's descriptors (until its 30 s request
  // deadline), and more of them than it has: the rest wait in the listen backlog.
  std::vector<std::unique_ptr<RawSocket>> held;
  for (std::uint64_t i = 0; i < kMaxOpenFiles + 32; ++i) {
    held.push_back(std::make_unique<RawSocket>(port));
  }
  ASSERT_TRUE(WaitUntil([&] { return server.OpenFdCount() >= kMaxOpenFiles - 1; }, 10s))
      << server.OpenFdCount() << " descriptors open";
  ASSERT_TRUE(
      WaitUntil([&] { return server.Log().find("accept failed") != std::string::npos; }, 10s))
      << "the listener never saw EMFILE";

  // A request now waits behind them.
  RawSocket waiting(port);
  waiting.Send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");

  const double share = CoreShareOver(server, kWindow);
  ::testing::Test::RecordProperty("core_share_percent_at_emfile", std::to_string(share * 100));
  EXPECT_LT(share, kMaxCoreShare) << "out of descriptors, the server used " << share * 100
                                  << "% of a core over " << kWindow.count() << " s";
  ASSERT_TRUE(server.running()) << server.Log();
  EXPECT_TRUE(waiting.ReadUntilClosed(200ms).bytes.empty()) << "answered without a descriptor?";

  // Descriptors free up: the waiting request is answered, and new clients are served.
  held.clear();
  const RawSocket::Received answer = waiting.ReadUntilClosed(30s);
  const auto responses = ParseHttpResponses(answer.bytes);
  ASSERT_EQ(responses.size(), 1u) << "the request that waited in the backlog got no answer";
  EXPECT_EQ(responses[0].status, 200);
  ASSERT_NO_FATAL_FAILURE(ExpectFreshClientWorks(port));

  std::size_t retries = 0;
  const std::string log = server.Log();
  for (auto at = log.find("accept failed"); at != std::string::npos;
       at = log.find("accept failed", at + 1)) {
    ++retries;
  }
  std::cerr << "out of descriptors: " << share * 100 << "% of a core, " << retries
            << " accept retries logged\n";
}

}  // namespace
}  // namespace realtime::testing
