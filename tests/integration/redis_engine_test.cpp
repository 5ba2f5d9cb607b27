// The Redis engine: two server processes and one real redis-server act as one. Events cross
// nodes, a direct PUBLISH into Redis reaches subscribers, presence is cluster-wide, tokens are
// single use across nodes, channels follow local subscribers, bad payloads are skipped.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <thread>

#include "support/redis_process.hpp"
#include "support/server_process.hpp"
#include "support/test_helpers.hpp"

namespace realtime::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr const char* kTokenSecret = "redis-engine-tests-token-secret-0123456";

std::vector<std::string> NodeArgs(const RedisProcess& redis, std::vector<std::string> extra = {}) {
  std::vector<std::string> args{"--redis-url", redis.Url(), "--token-secret", kTokenSecret};
  args.insert(args.end(), extra.begin(), extra.end());
  return ServerProcess::DevArgs(std::move(args));
}

json::object Health(std::uint16_t port) { return HttpGet(port, "/health").Json().as_object(); }

class RedisEngineTest : public ::testing::Test {
 protected:
  // A node listens before it reached Redis (and says so on /health): wait for both.
  void SetUp() override {
    for (const ServerProcess* node : {&a_, &b_}) {
      ASSERT_TRUE(WaitUntil([&] { return HttpGet(node->port(), "/health").status == 200; }, 30s))
          << HttpGet(node->port(), "/health").body;
    }
  }

  RedisProcess redis_;
  ServerProcess a_{NodeArgs(redis_)};
  ServerProcess b_{NodeArgs(redis_)};
};

TEST_F(RedisEngineTest, HealthNamesTheRedisEngine) {
  for (const ServerProcess* node : {&a_, &b_}) {
    const json::object health = Health(node->port());
    EXPECT_EQ(StringField(health, "engine"), "redis") << json::serialize(health);
    EXPECT_EQ(StringField(health, "status"), "ok");
  }
}

TEST_F(RedisEngineTest, EventPublishedOnOneNodeReachesSubscribersOnBoth) {
  auto on_a = ConnectUser(a_.port(), "alice", {"channel:1"});
  auto on_b = ConnectUser(b_.port(), "bob", {"channel:1"});
  const HttpResponse r = Publish(b_.port(), "channel:1", "chat.message.created", R"({"n":1})");
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(ExpectEvent(*on_a, "channel:1", "chat.message.created"), json::parse(R"({"n":1})"));
  EXPECT_EQ(ExpectEvent(*on_b, "channel:1", "chat.message.created"), json::parse(R"({"n":1})"));
  // Exactly once each: the next thing either sees is the answer to its ping.
  for (WsClient* c : {on_a.get(), on_b.get()}) {
    for (const auto& f : ReadUntilPong(*c, "once")) {
      EXPECT_NE(StringField(f, "event"), "chat.message.created") << json::serialize(f);
    }
  }
}

TEST_F(RedisEngineTest, DirectRedisPublishReachesSubscribers) {
  auto on_a = ConnectUser(a_.port(), "alice", {"orders:7"});
  redis_.Command({"PUBLISH", "realtime:topic:orders:7",
                  R"({"topic":"orders:7","event":"order.paid","data":{"total":42}})"});
  EXPECT_EQ(ExpectEvent(*on_a, "orders:7", "order.paid"), json::parse(R"({"total":42})"));
  // Without topic and data: the channel names the topic, data is null.
  redis_.Command({"PUBLISH", "realtime:topic:orders:7", R"({"event":"order.shipped"})"});
  EXPECT_TRUE(ExpectEvent(*on_a, "orders:7", "order.shipped").is_null());
}

TEST_F(RedisEngineTest, MalformedPayloadsAreSkippedAndLogged) {
  auto on_a = ConnectUser(a_.port(), "alice", {"orders:7"});
  for (const char* bad : {"not json", "[1,2]", R"({"event":"bad name!"})",
                          R"({"topic":"orders:8","event":"e"})", R"({"event":"e","ts":"x"})"}) {
    redis_.Command({"PUBLISH", "realtime:topic:orders:7", bad});
  }
  redis_.Command({"PUBLISH", "realtime:topic:orders:7", R"({"event":"order.ok"})"});
  // The good one arrives, nothing before it.
  EXPECT_TRUE(ExpectEvent(*on_a, "orders:7", "order.ok").is_null());
  EXPECT_TRUE(WaitUntil([&] { return a_.Log().find("malformed") != std::string::npos; }, 10s))
      << a_.Log();
  EXPECT_TRUE(a_.running());
}

TEST_F(RedisEngineTest, OneChannelPerTopicWithLocalSubscribersAndNoneAfter) {
  auto c1 = ConnectUser(a_.port(), "alice", {"room:1", "room:2"});
  auto c2 = ConnectUser(b_.port(), "bob", {"room:2"});
  auto channels = [&] {
    std::string list = redis_.Command({"PUBSUB", "CHANNELS", "realtime:topic:*"});
    std::vector<std::string> out;
    std::size_t pos = 0;
    while (pos < list.size()) {
      auto nl = list.find('\n', pos);
      out.push_back(list.substr(pos, nl - pos));
      if (nl == std::string::npos) break;
      pos = nl + 1;
    }
    std::sort(out.begin(), out.end());
    return out;
  };
  EXPECT_EQ(channels(),
            (std::vector<std::string>{"realtime:topic:room:1", "realtime:topic:room:2"}));
  // Two nodes subscribe room:2: two subscribers of that channel, one of room:1.
  EXPECT_EQ(redis_.Command({"PUBSUB", "NUMSUB", "realtime:topic:room:1", "realtime:topic:room:2"}),
            "realtime:topic:room:1\n1\nrealtime:topic:room:2\n2");
  c1->Close();
  c2->Close();
  EXPECT_TRUE(WaitUntil([&] { return channels().empty(); }, 20s))
      << redis_.Command({"PUBSUB", "CHANNELS", "realtime:topic:*"});
}

TEST_F(RedisEngineTest, PresenceIsTheSameFromEitherNode) {
  auto alice = ConnectUser(a_.port(), "alice", {"channel:1"});
  auto bob = ConnectUser(b_.port(), "bob", {"channel:1"});
  ReadPresenceChangeOf(*alice, "bob");  // bob's join is known cluster-wide by now
  for (const ServerProcess* node : {&a_, &b_}) {
    const json::object listing =
        HttpGet(node->port(), "/realtime/presence/channel:1").Json().as_object();
    EXPECT_EQ(listing.at("count"), json::value(2)) << json::serialize(listing);
  }
}

TEST_F(RedisEngineTest, ObserverOnOtherNodeSeesOnlineAwayOffline) {
  auto observer = ConnectUser(b_.port(), "observer", {"channel:1"});
  auto user = ConnectUser(a_.port(), "alice", {"channel:1"});
  json::object change = ReadPresenceChangeOf(*observer, "alice");
  EXPECT_EQ(StringField(change, "new_status"), "online");

  user->Send(R"({"type":"presence","status":"away"})");
  change = ReadPresenceChangeOf(*observer, "alice");
  EXPECT_EQ(StringField(change, "old_status"), "online");
  EXPECT_EQ(StringField(change, "new_status"), "away");

  // A second tab on the other node, online: the fold is cluster-wide (online beats away).
  auto tab2 = ConnectUser(b_.port(), "alice", {"channel:1"});
  change = ReadPresenceChangeOf(*observer, "alice");
  EXPECT_EQ(StringField(change, "old_status"), "away") << json::serialize(change);
  EXPECT_EQ(StringField(change, "new_status"), "online");
  // Closing the away tab changes nothing; closing the last one is offline.
  user->Close();
  ASSERT_TRUE(WaitUntil(
      [&] {
        const auto body = HttpGet(b_.port(), "/realtime/presence/channel:1").body;
        return body.find(R"("user_id":"alice","status":"online","connections":1)") !=
               std::string::npos;
      },
      20s));
  tab2->Close();
  change = ReadPresenceChangeOf(*observer, "alice");
  EXPECT_EQ(StringField(change, "old_status"), "online") << json::serialize(change);
  EXPECT_EQ(StringField(change, "new_status"), "offline");
}

TEST_F(RedisEngineTest, ConnectionTokenIsSingleUseAcrossNodes) {
  const HttpResponse minted = HttpPostJson(a_.port(), "/realtime/token", R"({"user_id":"alice"})");
  ASSERT_EQ(minted.status, 200) << minted.body;
  const std::string token(minted.Json().at("token").as_string());
  auto first = WsClient::TryConnect(
      a_.port(), {.target = "/realtime/connect?token=" + token, .headers = {}, .subprotocol = {}});
  ASSERT_TRUE(std::holds_alternative<std::unique_ptr<WsClient>>(first));
  auto replay = WsClient::TryConnect(
      b_.port(), {.target = "/realtime/connect?token=" + token, .headers = {}, .subprotocol = {}});
  ASSERT_TRUE(std::holds_alternative<HttpResponse>(replay)) << "the replay was accepted";
  const HttpResponse& refused = std::get<HttpResponse>(replay);
  EXPECT_EQ(refused.status, 401);
  EXPECT_EQ(refused.Json().at("reason"), "replayed");
}

TEST_F(RedisEngineTest, TypingCrossesNodesButNotBackToTheTyper) {
  auto alice = ConnectUser(a_.port(), "alice", {"channel:1"});
  auto bob = ConnectUser(b_.port(), "bob", {"channel:1"});
  alice->Send(R"({"type":"typing","topic":"channel:1","state":"start"})");
  const json::object typing = bob->ReadUntil(
      [](const json::object& f) { return StringField(f, "event") == "realtime.typing"; },
      "alice's typing");
  EXPECT_EQ(StringField(typing.at("data").as_object(), "user_id"), "alice");
  for (const auto& f : ReadUntilPong(*alice, "no-echo")) {
    EXPECT_NE(StringField(f, "event"), "realtime.typing") << json::serialize(f);
  }
  // Either node lists alice as typing.
  for (const ServerProcess* node : {&a_, &b_}) {
    EXPECT_TRUE(WaitUntil(
        [&] {
          return HttpGet(node->port(), "/realtime/presence/channel:1").Json().at("typing") ==
                 json::parse(R"(["alice"])");
        },
        10s));
  }
  alice->Send(R"({"type":"typing","topic":"channel:1","state":"stop"})");
  EXPECT_TRUE(WaitUntil(
      [&] {
        return HttpGet(b_.port(), "/realtime/presence/channel:1")
            .Json()
            .at("typing")
            .as_array()
            .empty();
      },
      10s));
}

TEST_F(RedisEngineTest, LifecycleEventsReachTheBackendChannel) {
  RedisSubscriber backend(redis_.port(), "realtime:events");
  // The next two backend events, by name (their order across the two kinds is not fixed here:
  // presence waits for the node's SUBSCRIBE, the connect event does not).
  auto next_two = [&] {
    std::map<std::string, json::object> by_event;
    for (int i = 0; i < 2; ++i) {
      json::object e = json::parse(backend.Next(20s)).as_object();
      EXPECT_TRUE(e.at("ts").is_int64()) << json::serialize(e);
      EXPECT_FALSE(StringField(e, "node_id").empty()) << json::serialize(e);
      by_event[StringField(e, "event")] = e.at("data").as_object();
    }
    return by_event;
  };
  auto alice = ConnectUser(a_.port(), "alice", {"channel:1"});
  auto events = next_two();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(StringField(events["realtime.presence.changed"], "new_status"), "online");
  EXPECT_EQ(StringField(events["realtime.client.connected"], "user_id"), "alice");
  alice->Close();
  events = next_two();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(StringField(events["realtime.presence.changed"], "new_status"), "offline");
  EXPECT_EQ(StringField(events["realtime.client.disconnected"], "user_id"), "alice");
  EXPECT_THROW(backend.Next(500ms), std::runtime_error);  // and nothing more
}

TEST_F(RedisEngineTest, LifecycleEventsReachWatchersOnEveryNodeFromOnePublish) {
  // On one Redis the backends' channel is also how nodes hear realtime.events: a second
  // copy on the topic's own channel would cost a PUBLISH per event for nobody.
  RedisSubscriber topic_channel(redis_.port(), "realtime:topic:realtime.events");
  auto watcher = ConnectUser(b_.port(), "watcher", {"realtime.events"});
  // Its own arrival may be published before its node's SUBSCRIBE: skipped.
  ASSERT_TRUE(WaitUntil(
      [&] {
        return redis_.Command({"PUBSUB", "NUMSUB", "realtime:events"}) == "realtime:events\n1";
      },
      10s))
      << redis_.Command({"PUBSUB", "NUMSUB", "realtime:events"});
  auto next_on_events = [&] {
    const json::object f = watcher->ReadUntil(
        [](const json::object& f) {
          return StringField(f, "type") == "event" &&
                 StringField(f, "topic") == "realtime.events" &&
                 StringField(f.at("data").as_object(), "user_id") != "watcher";
        },
        "an event on realtime.events");
    return std::pair{StringField(f, "event"), f.at("data").as_object()};
  };

  auto alice = ConnectUser(a_.port(), "alice", {"channel:1"});
  std::map<std::string, json::object> seen;
  for (int i = 0; i < 2; ++i) {
    auto [event, data] = next_on_events();
    EXPECT_TRUE(seen.emplace(event, data).second) << event << " twice";
  }
  EXPECT_EQ(StringField(seen["realtime.client.connected"], "user_id"), "alice");
  EXPECT_EQ(StringField(seen["realtime.presence.changed"], "new_status"), "online");
  alice->Close();
  seen.clear();
  for (int i = 0; i < 2; ++i) {
    auto [event, data] = next_on_events();
    EXPECT_TRUE(seen.emplace(event, data).second) << event << " twice";
  }
  EXPECT_EQ(StringField(seen["realtime.client.disconnected"], "user_id"), "alice");
  EXPECT_EQ(StringField(seen["realtime.presence.changed"], "new_status"), "offline");
  EXPECT_THROW(topic_channel.Next(300ms), std::runtime_error) << "a second copy was published";
  // Exactly once: after that wait, the next thing the watcher sees is the answer to its ping.
  for (const json::object& f : ReadUntilPong(*watcher, "p")) {
    ADD_FAILURE() << "more on realtime.events: " << json::serialize(f);
  }
}

TEST(RedisEngineUnixSocketTest, NodesReachRedisOverItsUnixSocket) {
  RedisProcess redis;
  ServerProcess a(ServerProcess::DevArgs({"--redis-url", redis.UnixUrl()}));
  ServerProcess b(ServerProcess::DevArgs({"--redis-url", redis.Url()}));
  for (const ServerProcess* node : {&a, &b}) {
    ASSERT_TRUE(WaitUntil([&] { return HttpGet(node->port(), "/health").status == 200; }, 30s))
        << node->Log();
  }
  auto on_a = ConnectUser(a.port(), "alice", {"channel:1"});
  ASSERT_EQ(Publish(b.port(), "channel:1", "e", R"({"via":"tcp"})").status, 202);
  EXPECT_EQ(ExpectEvent(*on_a, "channel:1", "e"), json::parse(R"({"via":"tcp"})"));
  EXPECT_NE(a.Log().find("unix://"), std::string::npos) << a.Log();
}

TEST(RedisEngineTlsTest, RedissWorksWithTheServersCaAndIsRefusedWithout) {
  RedisProcess redis(/*tls=*/true);
  ServerProcess trusting(ServerProcess::DevArgs({"--redis-url", redis.TlsUrl()}));
  ServerProcess plain(ServerProcess::DevArgs({"--redis-url", redis.Url()}));
  for (const ServerProcess* node : {&trusting, &plain}) {
    ASSERT_TRUE(WaitUntil([&] { return HttpGet(node->port(), "/health").status == 200; }, 30s))
        << node->Log();
  }
  auto over_tls = ConnectUser(trusting.port(), "alice", {"channel:1"});
  ASSERT_EQ(Publish(plain.port(), "channel:1", "e", R"({"via":"plain"})").status, 202);
  EXPECT_EQ(ExpectEvent(*over_tls, "channel:1", "e"), json::parse(R"({"via":"plain"})"));

  // The certificate is self-signed: without its CA, verification refuses it.
  ServerProcess untrusting(ServerProcess::DevArgs({"--redis-url", redis.TlsUrl(false)}));
  EXPECT_TRUE(WaitUntil(
      [&] { return untrusting.Log().find("certificate verify failed") != std::string::npos; }, 20s))
      << untrusting.Log();
  EXPECT_EQ(HttpGet(untrusting.port(), "/health").status, 503);
}

TEST(RedisEngineDownTest, UnreachableRedisMeansDegradedAnd503ButClientsStay) {
  const std::uint16_t nowhere = FreePort();
  ServerProcess node(
      ServerProcess::DevArgs({"--redis-url", "redis://127.0.0.1:" + std::to_string(nowhere)}));
  const HttpResponse health = HttpGet(node.port(), "/health");
  EXPECT_EQ(health.status, 503) << health.body;
  EXPECT_EQ(health.Json().at("status"), "degraded");
  const HttpResponse r = Publish(node.port(), "channel:1", "e", "{}");
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_EQ(r.Json().at("error"), "unavailable");
  EXPECT_TRUE(
      WaitUntil([&] { return node.Log().find("cannot connect") != std::string::npos; }, 10s))
      << node.Log();
}

// EVALSHA calls Redis has run: every presence script run, `alive` included.
long long EvalshaCalls(const RedisProcess& redis) {
  const std::string stats = redis.Command({"INFO", "commandstats"});
  const auto at = stats.find("cmdstat_evalsha:calls=");
  if (at == std::string::npos) return 0;
  return std::atoll(stats.c_str() + at + std::string_view("cmdstat_evalsha:calls=").size());
}

// A new node's first `alive` finds no deadline of its own. That is not a lapse (nobody can have
// been reaping a node id that never existed): its connections are not registered a second time
// at the next `alive`. Alive runs every second here; the clients connect within the first one.
TEST(RedisEnginePresenceTest, ANewNodeRegistersItsConnectionsOnce) {
  RedisProcess redis;
  ServerProcess node(NodeArgs(redis, {"--heartbeat-seconds", "4"}));
  ASSERT_TRUE(WaitUntil([&] { return HttpGet(node.port(), "/health").status == 200; }, 30s));
  constexpr int kUsers = 20;
  std::vector<std::unique_ptr<WsClient>> clients;
  for (int i = 0; i < kUsers; ++i) {
    clients.push_back(ConnectUser(node.port(), "user" + std::to_string(i), {"channel:1"}));
  }
  ASSERT_TRUE(WaitUntil(
      [&] {
        const auto r = HttpGet(node.port(), "/realtime/presence/channel:1");
        return r.status == 200 && r.Json().at("count") == json::value(kUsers);
      },
      10s));
  const long long before = EvalshaCalls(redis);
  std::this_thread::sleep_for(2500ms);  // two or three alives
  const long long during = EvalshaCalls(redis) - before;
  // Alives only: a second registration would be a connect and a join per user (40 runs).
  EXPECT_LT(during, kUsers) << "EVALSHA runs in 2.5 s: " << during << "\n" << node.Log();
  EXPECT_EQ(node.Log().find("re-registering"), std::string::npos) << node.Log();
}

}  // namespace
}  // namespace realtime::testing

// The server API's user commands reach the user's connections on every node.
namespace realtime::testing {
namespace {

json::object ReadType(WsClient& client, std::string_view type) {
  return client.ReadUntil([&](const json::object& o) { return StringField(o, "type") == type; },
                          type);
}

TEST_F(RedisEngineTest, UnsubscribeDisconnectAndSubscribeReachTheUsersConnectionsOnOtherNodes) {
  auto alice_on_b = ConnectUser(b_.port(), "alice", {"channel:1"});
  auto bob_on_b = ConnectUser(b_.port(), "bob");
  // Sent to node A, which holds none of alice's connections.
  auto r = HttpPostJson(a_.port(), "/realtime/unsubscribe",
                        R"({"user_id":"alice","topic":"channel:1"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json(), json::parse(R"({"local":0,"broadcast":true})"));
  const json::object gone = ReadType(*alice_on_b, "unsubscribed");
  EXPECT_EQ(StringField(gone, "topic"), "channel:1");
  EXPECT_EQ(StringField(gone, "reason"), "removed");

  r = HttpPostJson(a_.port(), "/realtime/subscribe", R"({"user_id":"bob","topic":"dm:7"})");
  ASSERT_EQ(r.status, 200) << r.body;
  const json::object joined = ReadType(*bob_on_b, "subscribed");
  EXPECT_EQ(StringField(joined, "topic"), "dm:7");
  EXPECT_EQ(joined.at("server"), json::value(true));
  ASSERT_EQ(Publish(a_.port(), "dm:7", "dm.message", R"({"n":2})").status, 202);
  EXPECT_EQ(ExpectEvent(*bob_on_b, "dm:7", "dm.message"), json::parse(R"({"n":2})"));

  r = HttpPostJson(a_.port(), "/realtime/disconnect", R"({"user_id":"alice","reason":"banned"})");
  ASSERT_EQ(r.status, 200) << r.body;
  const CloseResult closed = alice_on_b->WaitForClose();
  EXPECT_TRUE(closed.close_frame);
  EXPECT_EQ(closed.code, 4003);
  EXPECT_NO_THROW(ReadUntilPong(*bob_on_b, "bob-stays"));
}

}  // namespace
}  // namespace realtime::testing
