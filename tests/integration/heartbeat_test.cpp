// Heartbeat: a client that sends nothing for 2x REALTIME_HEARTBEAT_SECONDS is closed with 4009
// and its presence turns offline; a client that keeps pinging stays.
#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <future>
#include <thread>

#include "support/server_process.hpp"
#include "support/test_helpers.hpp"

namespace realtime::testing {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

// The server closes a silent client after 2 to 2.25 heartbeats; this only bounds a hang.
constexpr seconds kCloseTimeout{30};
constexpr milliseconds kPingInterval{250};

class HeartbeatTest : public ::testing::Test {
 protected:
  std::uint16_t port() const { return server_.port(); }

  // Keeps `active` alive with pings until `silent_closed` is ready, handing every frame that
  // arrived in between to `on_frame`.
  static void PingUntil(WsClient& active, std::future<CloseResult>& silent_closed,
                        const std::function<void(const json::object&)>& on_frame = {}) {
    int n = 0;
    while (silent_closed.wait_for(kPingInterval) != std::future_status::ready) {
      for (const auto& frame : ReadUntilPong(active, "keepalive-" + std::to_string(n++))) {
        if (on_frame) on_frame(frame);
      }
    }
  }

  ServerProcess server_{ServerProcess::DevArgs({"--heartbeat-seconds", "1"})};
};

TEST_F(HeartbeatTest, WelcomeAnnouncesTheHeartbeat) {
  auto client = WsClient::Connect(port());
  const json::object welcome = client->ReadJson();
  EXPECT_EQ(welcome.at("heartbeat_seconds"), json::value(1)) << json::serialize(welcome);
}

TEST_F(HeartbeatTest, SilentClientIsClosedWith4009WhilePingingClientStays) {
  auto silent = ConnectUser(port(), "silent", {"room"});
  auto active = ConnectUser(port(), "active", {"room"});

  // Reading is not sending: the silent client only listens until the server closes it.
  auto silent_closed =
      std::async(std::launch::async, [&] { return silent->WaitForClose(kCloseTimeout); });
  ASSERT_NO_THROW(PingUntil(*active, silent_closed));

  const CloseResult closed = silent_closed.get();
  ASSERT_TRUE(closed.close_frame) << "ended without a close frame: " << closed.error;
  EXPECT_EQ(closed.code, 4009);
  // The active client outlived it and still gets answers.
  EXPECT_NO_THROW(ReadUntilPong(*active, "after"));
  EXPECT_GE(ScrapeMetric(port(), "realtime_heartbeat_timeouts_total"), 1.0);
}

TEST_F(HeartbeatTest, SilentClientTurnsOfflineForOtherSubscribers) {
  auto silent = ConnectUser(port(), "silent", {"room"});
  auto watcher = ConnectUser(port(), "watcher", {"room"});

  auto silent_closed =
      std::async(std::launch::async, [&] { return silent->WaitForClose(kCloseTimeout); });
  std::vector<json::object> changes;
  const auto collect = [&](const json::object& frame) {
    if (IsPresenceEvent(frame) &&
        StringField(frame.at("data").as_object(), "user_id") == "silent") {
      changes.push_back(frame.at("data").as_object());
    }
  };
  ASSERT_NO_THROW(PingUntil(*watcher, silent_closed, collect));
  const CloseResult closed = silent_closed.get();
  EXPECT_EQ(closed.code, 4009);

  // The offline change follows the close; keep pinging (the watcher must stay alive too).
  const auto deadline = std::chrono::steady_clock::now() + kCloseTimeout;
  int n = 0;
  while (std::none_of(
             changes.begin(), changes.end(),
             [](const json::object& c) { return StringField(c, "new_status") == "offline"; }) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(kPingInterval);
    for (const auto& frame : ReadUntilPong(*watcher, "wait-" + std::to_string(n++))) collect(frame);
  }
  ASSERT_FALSE(changes.empty()) << "the watcher saw no presence change of the silent user";
  const json::object& last = changes.back();
  EXPECT_EQ(StringField(last, "new_status"), "offline") << json::serialize(last);
  EXPECT_EQ(StringField(last, "old_status"), "online") << json::serialize(last);
  EXPECT_EQ(StringField(last, "topic"), "room");
}

}  // namespace
}  // namespace realtime::testing
