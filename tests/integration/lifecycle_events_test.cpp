// Lifecycle events on the internal topic realtime.events: one connected and one disconnected per
// connection, one presence.changed per real change, admins only, nobody else may publish there.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <set>

#include "support/server_process.hpp"
#include "support/test_helpers.hpp"

namespace realtime::testing {
namespace {

namespace json = boost::json;

struct Lifecycle {
  std::string event;
  json::object data;
};

// The next event on realtime.events.
Lifecycle ReadLifecycle(WsClient& watcher) {
  const json::object f = watcher.ReadUntil(
      [](const json::object& f) {
        return StringField(f, "type") == "event" && StringField(f, "topic") == "realtime.events";
      },
      "an event on realtime.events");
  return {StringField(f, "event"), f.at("data").as_object()};
}

// Connects as `user` to `topics` and returns the client and its connection id.
std::pair<std::unique_ptr<WsClient>, std::string> Connect(std::uint16_t port, std::string_view user,
                                                          const std::vector<std::string>& topics) {
  auto client = WsClient::Connect(
      port, {.target = ConnectTarget(user, topics), .headers = {}, .subprotocol = {}});
  const json::object welcome = client->ReadJson();
  return {std::move(client), StringField(welcome, "connection_id")};
}

class LifecycleEventsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    watcher_ = ConnectUser(port(), "watcher", {"realtime.events"});
    // Its own arrival comes first (and no presence: watching is not being present).
    const Lifecycle own = ReadLifecycle(*watcher_);
    ASSERT_EQ(own.event, "realtime.client.connected");
    ASSERT_EQ(StringField(own.data, "user_id"), "watcher");
  }
  std::uint16_t port() const { return server_.port(); }

  ServerProcess server_{ServerProcess::DevArgs()};
  std::unique_ptr<WsClient> watcher_;  // dev mode: role admin, as the default rules require
};

TEST_F(LifecycleEventsTest, ConnectAndDisconnectOfOneConnection) {
  auto [alice, alice_id] = Connect(port(), "alice", {"channel:1"});

  Lifecycle e = ReadLifecycle(*watcher_);
  EXPECT_EQ(e.event, "realtime.presence.changed");
  EXPECT_EQ(e.data, json::parse(R"({"user_id":"alice","old_status":"offline",)"
                                R"("new_status":"online","topic":"channel:1"})")
                        .as_object());
  e = ReadLifecycle(*watcher_);
  EXPECT_EQ(e.event, "realtime.client.connected");
  EXPECT_EQ(StringField(e.data, "user_id"), "alice");
  EXPECT_EQ(StringField(e.data, "connection_id"), alice_id);
  EXPECT_EQ(e.data.at("topics"), json::parse(R"(["channel:1"])"));

  alice->Close();
  e = ReadLifecycle(*watcher_);
  EXPECT_EQ(e.event, "realtime.presence.changed");
  EXPECT_EQ(StringField(e.data, "new_status"), "offline");
  e = ReadLifecycle(*watcher_);
  EXPECT_EQ(e.event, "realtime.client.disconnected");
  EXPECT_EQ(StringField(e.data, "connection_id"), alice_id);
  EXPECT_EQ(StringField(e.data, "user_id"), "alice");
  EXPECT_TRUE(e.data.at("session_seconds").is_int64()) << json::serialize(e.data);
}

TEST_F(LifecycleEventsTest, ASecondTabEmitsNoPresenceChange) {
  auto [tab1, id1] = Connect(port(), "alice", {"channel:1"});
  EXPECT_EQ(ReadLifecycle(*watcher_).event, "realtime.presence.changed");
  EXPECT_EQ(ReadLifecycle(*watcher_).event, "realtime.client.connected");

  // A change would be published before the connection's own connected / disconnected event.
  auto [tab2, id2] = Connect(port(), "alice", {"channel:1"});
  Lifecycle e = ReadLifecycle(*watcher_);
  EXPECT_EQ(e.event, "realtime.client.connected") << json::serialize(e.data);
  EXPECT_EQ(StringField(e.data, "connection_id"), id2);

  tab1->Close();
  e = ReadLifecycle(*watcher_);
  EXPECT_EQ(e.event, "realtime.client.disconnected") << json::serialize(e.data);
  EXPECT_EQ(StringField(e.data, "connection_id"), id1);

  tab2->Close();
  e = ReadLifecycle(*watcher_);
  EXPECT_EQ(e.event, "realtime.presence.changed");
  EXPECT_EQ(StringField(e.data, "new_status"), "offline");
  EXPECT_EQ(ReadLifecycle(*watcher_).event, "realtime.client.disconnected");
}

TEST_F(LifecycleEventsTest, EveryConnectionIsAnnouncedOnceWithItsOwnId) {
  constexpr int kClients = 20;
  std::vector<std::unique_ptr<WsClient>> clients;
  std::set<std::string> ids;
  for (int i = 0; i < kClients; ++i) {
    auto [c, id] = Connect(port(), "user" + std::to_string(i), {});
    clients.push_back(std::move(c));
    ids.insert(id);
  }
  std::multiset<std::string> connected;
  for (int i = 0; i < kClients; ++i) {
    Lifecycle e = ReadLifecycle(*watcher_);
    ASSERT_EQ(e.event, "realtime.client.connected");  // no topics: no presence changes
    connected.insert(StringField(e.data, "connection_id"));
  }
  EXPECT_EQ(std::set<std::string>(connected.begin(), connected.end()), ids);
  EXPECT_EQ(connected.size(), ids.size());

  clients.clear();
  std::multiset<std::string> disconnected;
  for (int i = 0; i < kClients; ++i) {
    Lifecycle e = ReadLifecycle(*watcher_);
    ASSERT_EQ(e.event, "realtime.client.disconnected");
    disconnected.insert(StringField(e.data, "connection_id"));
  }
  EXPECT_EQ(disconnected, connected);
  // And nothing more: the next event is the marker connection's.
  auto [marker, marker_id] = Connect(port(), "marker", {});
  EXPECT_EQ(StringField(ReadLifecycle(*watcher_).data, "connection_id"), marker_id);
}

TEST_F(LifecycleEventsTest, OnlyAdminsMaySubscribe) {
  auto user = WsClient::Connect(
      port(), {.target = "/realtime/connect?user=u&role=user", .headers = {}, .subprotocol = {}});
  ASSERT_EQ(StringField(user->ReadJson(), "type"), "welcome");
  user->Send(R"({"type":"subscribe","topic":"realtime.events","id":1})");
  EXPECT_EQ(StringField(user->ReadSkippingPresence(), "code"), "forbidden");
}

TEST_F(LifecycleEventsTest, NobodyMayPublishThere) {
  const HttpResponse res = Publish(port(), "realtime.events", "realtime.client.connected", "{}");
  EXPECT_EQ(res.status, 400) << res.body;
  EXPECT_NE(res.body.find("reserved"), std::string::npos) << res.body;
  watcher_->Send(
      R"({"type":"publish","topic":"realtime.events","event":"realtime.client.connected","id":2})");
  const json::object err = watcher_->ReadSkippingPresence();
  EXPECT_EQ(StringField(err, "code"), "bad_request") << json::serialize(err);
}

}  // namespace
}  // namespace realtime::testing
