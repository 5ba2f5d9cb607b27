// The Redis engine on a 3-master Redis Cluster: two server processes, topics whose slots live on
// every master. Events reach every subscriber on both nodes once and in order per topic, each
// topic's sharded channel lives on its slot's master and goes when its last subscriber leaves,
// /health lists the shards, and presence, typing, tokens, history, the server API and the
// backend's event channel work across slots; a killed node is reaped topic by topic.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <atomic>
#include <csignal>
#include <map>
#include <memory>
#include <set>

#include "redis/cluster_slots.hpp"
#include "support/client_pool.hpp"
#include "support/delivery_ledger.hpp"
#include "support/redis_cluster.hpp"
#include "support/redis_process.hpp"
#include "support/server_process.hpp"
#include "support/test_helpers.hpp"

namespace realtime::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr const char* kTokenSecret = "redis-cluster-tests-token-secret-012345";
constexpr std::size_t kTopicsPerMaster = 4;

class RedisClusterTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { cluster_ = new RedisCluster(3); }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }

  // Node a (with `a_extra`) and node b on the cluster, both healthy, on a cluster emptied of
  // what earlier tests of the suite left.
  void StartNodes(std::vector<std::string> a_extra = {}, std::vector<std::string> b_extra = {}) {
    for (std::size_t master = 0; master < cluster_->size(); ++master) {
      cluster_->Command(master, {"FLUSHALL"});
    }
    a_ = std::make_unique<ServerProcess>(NodeArgs(std::move(a_extra)));
    b_ = std::make_unique<ServerProcess>(NodeArgs(std::move(b_extra)));
    for (const ServerProcess* node : {a_.get(), b_.get()}) {
      ASSERT_TRUE(WaitUntil([&] { return HttpGet(node->port(), "/health").status == 200; }, 30s))
          << HttpGet(node->port(), "/health").body << "\n"
          << node->Log();
    }
  }
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(StartNodes()); }

  static std::vector<std::string> NodeArgs(std::vector<std::string> extra) {
    std::vector<std::string> args{"--redis-url", cluster_->Url(),  "--token-secret",
                                  kTokenSecret,  "--history-size", "100"};
    args.insert(args.end(), extra.begin(), extra.end());
    return ServerProcess::DevArgs(std::move(args));
  }

  static std::size_t MasterOf(std::string_view topic) {
    return cluster_->NodeOfSlot(key_slot(topic));
  }

  // `per_master` topics "room:<i>" on each master, in master order.
  static std::vector<std::string> TopicsOnEveryMaster(std::size_t per_master) {
    std::map<std::size_t, std::vector<std::string>> by_master;
    std::vector<std::string> topics;
    for (int i = 0; topics.size() < per_master * cluster_->size(); ++i) {
      std::string topic = "room:" + std::to_string(i);
      auto& mine = by_master[MasterOf(topic)];
      if (mine.size() < per_master) {
        mine.push_back(topic);
        topics.push_back(std::move(topic));
      }
    }
    return topics;
  }

  // The sharded channels a master serves.
  static std::string ShardChannels(std::size_t master) {
    return cluster_->Command(master, {"PUBSUB", "SHARDCHANNELS", "realtime:topic:*"});
  }

  static RedisCluster* cluster_;
  std::unique_ptr<ServerProcess> a_, b_;
};

RedisCluster* RedisClusterTest::cluster_ = nullptr;

TEST_F(RedisClusterTest, HealthListsEveryShardAndTheSlotsItServes) {
  for (const ServerProcess* node : {a_.get(), b_.get()}) {
    // Latencies appear with the first probe round trip of each shard (within a second).
    json::object health;
    EXPECT_TRUE(WaitUntil(
        [&] {
          health = HttpGet(node->port(), "/health").Json().as_object();
          const auto* shards =
              health.at("dependencies").at("redis").as_object().if_contains("shards");
          if (shards == nullptr) return false;
          for (const auto& shard : shards->as_array()) {
            if (!shard.at("latency_ms").is_number()) return false;
          }
          return true;
        },
        10s))
        << json::serialize(health);
    EXPECT_EQ(StringField(health, "status"), "ok") << json::serialize(health);
    const json::object& redis = health.at("dependencies").at("redis").as_object();
    EXPECT_EQ(StringField(redis, "status"), "ok");
    const json::array& shards = redis.at("shards").as_array();
    ASSERT_EQ(shards.size(), 3u) << json::serialize(redis);
    std::int64_t slots = 0;
    for (const auto& shard : shards) {
      EXPECT_EQ(StringField(shard.as_object(), "status"), "ok");
      EXPECT_TRUE(shard.at("latency_ms").is_number());
      slots += shard.at("slots").as_int64();
    }
    EXPECT_EQ(slots, 16384);
  }
}

TEST_F(RedisClusterTest, EventsOnTopicsOfEveryMasterReachBothNodesOnceAndInOrder) {
  constexpr std::size_t kPerNode = 4;
  constexpr int kRounds = 25;
  const std::vector<std::string> topics = TopicsOnEveryMaster(kTopicsPerMaster);
  DeliveryLedger ledger;
  std::atomic<std::size_t> subscribed{0};
  auto on_frame = [&](std::size_t offset) {
    return [&, offset](std::size_t i, std::string_view text) {
      if (text.find(R"("type":"subscribed")") != std::string_view::npos) ++subscribed;
      ledger.Received(offset + i, text);
    };
  };
  ClientPool pool_a(a_->port(), on_frame(0));
  ClientPool pool_b(b_->port(), on_frame(kPerNode));
  for (ClientPool* pool : {&pool_a, &pool_b}) {
    ASSERT_EQ(
        pool->Open(
            kPerNode, [&](std::size_t i) { return ConnectTarget("u" + std::to_string(i), topics); },
            kPerNode, 30s),
        kPerNode);
  }
  ASSERT_TRUE(WaitUntil([&] { return subscribed.load() == 2 * kPerNode * topics.size(); }, 30s));
  // Each topic's sharded channel is on its own master, subscribed by both nodes.
  for (const auto& topic : topics) {
    const std::string channel = "realtime:topic:{" + topic + "}";
    EXPECT_EQ(cluster_->Command(MasterOf(topic), {"PUBSUB", "SHARDNUMSUB", channel}),
              channel + "\n2");
  }

  // Every topic's events in sequence, through both nodes in turn.
  for (int round = 0; round < kRounds; ++round) {
    for (std::size_t t = 0; t < topics.size(); ++t) {
      const std::string pid = topics[t] + "-" + std::to_string(round);
      const ServerProcess& via = (round + t) % 2 == 0 ? *a_ : *b_;
      const HttpResponse r = Publish(via.port(), topics[t], "tick", DeliveryLedger::Data(pid));
      ledger.Answered(pid, r.status);
      ASSERT_EQ(r.status, 202) << r.body;
    }
  }
  EXPECT_TRUE(WaitUntil([&] { return ledger.Missed(2 * kPerNode).empty(); }, 30s))
      << ledger.Missed(2 * kPerNode).size() << " events did not reach every subscriber";
  EXPECT_EQ(ledger.Duplicates(), 0u);
  EXPECT_EQ(ledger.OutOfOrder(), 0u);

  // The last subscriber gone, every node unsubscribes: no sharded channel is left.
  EXPECT_TRUE(pool_a.CloseAll(10s));
  EXPECT_TRUE(pool_b.CloseAll(10s));
  for (std::size_t master = 0; master < cluster_->size(); ++master) {
    EXPECT_TRUE(WaitUntil([&] { return ShardChannels(master).empty(); }, 20s))
        << ShardChannels(master);
  }
}

TEST_F(RedisClusterTest, PresenceTypingAndTokensWorkAcrossSlots) {
  const std::vector<std::string> topics = TopicsOnEveryMaster(1);
  auto observer = ConnectUser(b_->port(), "observer", topics);
  auto alice = ConnectUser(a_->port(), "alice", topics);
  for (std::size_t i = 0; i < topics.size(); ++i) {
    EXPECT_EQ(StringField(ReadPresenceChangeOf(*observer, "alice"), "new_status"), "online");
  }
  for (const ServerProcess* node : {a_.get(), b_.get()}) {
    for (const auto& topic : topics) {
      const json::object listing =
          HttpGet(node->port(), "/realtime/presence/" + topic).Json().as_object();
      EXPECT_EQ(listing.at("count"), json::value(2)) << topic << ": " << json::serialize(listing);
    }
  }
  alice->Send(R"({"type":"presence","status":"away"})");
  std::set<std::string> away_in;
  for (std::size_t i = 0; i < topics.size(); ++i) {
    const json::object change = ReadPresenceChangeOf(*observer, "alice");
    EXPECT_EQ(StringField(change, "new_status"), "away");
    away_in.insert(StringField(change, "topic"));
  }
  EXPECT_EQ(away_in, std::set<std::string>(topics.begin(), topics.end()));

  alice->Send(R"({"type":"typing","topic":")" + topics[2] + R"(","state":"start"})");
  const json::object typing = observer->ReadUntil(
      [](const json::object& f) { return StringField(f, "event") == "realtime.typing"; },
      "alice's typing");
  EXPECT_EQ(StringField(typing, "topic"), topics[2]);
  EXPECT_TRUE(WaitUntil(
      [&] {
        return HttpGet(a_->port(), "/realtime/presence/" + topics[2]).Json().at("typing") ==
               json::parse(R"(["alice"])");
      },
      10s));

  const HttpResponse minted = HttpPostJson(a_->port(), "/realtime/token", R"({"user_id":"carol"})");
  ASSERT_EQ(minted.status, 200) << minted.body;
  const std::string target =
      "/realtime/connect?token=" + std::string(minted.Json().at("token").as_string());
  auto first =
      WsClient::TryConnect(a_->port(), {.target = target, .headers = {}, .subprotocol = {}});
  EXPECT_TRUE(std::holds_alternative<std::unique_ptr<WsClient>>(first));
  auto replay =
      WsClient::TryConnect(b_->port(), {.target = target, .headers = {}, .subprotocol = {}});
  ASSERT_TRUE(std::holds_alternative<HttpResponse>(replay)) << "the replay was accepted";
  EXPECT_EQ(std::get<HttpResponse>(replay).status, 401);

  alice->Close();
  for (std::size_t i = 0; i < topics.size(); ++i) {
    // The typing stop may come first; presence changes are what is counted.
    EXPECT_EQ(StringField(ReadPresenceChangeOf(*observer, "alice"), "new_status"), "offline");
  }
}

TEST_F(RedisClusterTest, HistoryOfTopicsOnEveryMasterFromOneBatch) {
  const std::vector<std::string> topics = TopicsOnEveryMaster(1);
  std::vector<std::string> messages;
  for (int n = 1; n <= 10; ++n) {
    for (const auto& topic : topics) {
      messages.push_back(EventJson(topic, "m", "{\"n\":" + std::to_string(n) + "}"));
    }
  }
  const HttpResponse r = HttpPostJson(a_->port(), "/realtime/publish", BatchJson(messages));
  ASSERT_EQ(r.status, 202) << r.body;
  for (const auto& topic : topics) {
    const HttpResponse h = HttpGet(b_->port(), "/realtime/history/" + topic + "?since=3");
    ASSERT_EQ(h.status, 200) << h.body;
    const json::object body = json::parse(h.body).as_object();
    EXPECT_EQ(body.at("offset").as_int64(), 10) << topic;
    const json::array& events = body.at("events").as_array();
    ASSERT_EQ(events.size(), 7u) << h.body;
    for (std::size_t i = 0; i < events.size(); ++i) {
      EXPECT_EQ(events[i].at("offset").as_int64(), static_cast<std::int64_t>(i + 4));
      EXPECT_EQ(events[i].at("data").at("n").as_int64(), static_cast<std::int64_t>(i + 4));
    }
  }
}

TEST_F(RedisClusterTest, ServerApiAndBackendEventsCrossNodes) {
  // Plain PUBLISH reaches the subscribers of every cluster node: any master will do.
  RedisSubscriber backend(cluster_->ports().at(2), "realtime:events");
  auto alice_on_b = ConnectUser(b_->port(), "alice", {"channel:1"});
  std::set<std::string> seen;
  for (int i = 0; i < 2; ++i) {
    seen.insert(StringField(json::parse(backend.Next(20s)).as_object(), "event"));
  }
  EXPECT_EQ(seen,
            (std::set<std::string>{"realtime.client.connected", "realtime.presence.changed"}));

  const HttpResponse r =
      HttpPostJson(a_->port(), "/realtime/disconnect", R"({"user_id":"alice","reason":"banned"})");
  ASSERT_EQ(r.status, 200) << r.body;
  const CloseResult closed = alice_on_b->WaitForClose();
  EXPECT_TRUE(closed.close_frame);
  EXPECT_EQ(closed.code, 4003);
}

TEST_F(RedisClusterTest, AKilledNodeIsReapedInEveryTopicOnEveryMaster) {
  a_.reset();
  b_.reset();
  // Node a's liveness lapses soon after it is killed (1 s heartbeat).
  ASSERT_NO_FATAL_FAILURE(StartNodes({"--heartbeat-seconds", "1"}));
  const std::vector<std::string> topics = TopicsOnEveryMaster(1);
  auto observer = ConnectUser(b_->port(), "observer", topics);
  auto alice = ConnectUser(a_->port(), "alice", topics);
  for (std::size_t i = 0; i < topics.size(); ++i) {
    EXPECT_EQ(StringField(ReadPresenceChangeOf(*observer, "alice"), "new_status"), "online");
  }
  a_->Signal(SIGKILL);
  std::set<std::string> offline_in;
  for (std::size_t i = 0; i < topics.size(); ++i) {
    const json::object change = ReadPresenceChangeOf(*observer, "alice", 30s);
    EXPECT_EQ(StringField(change, "new_status"), "offline");
    offline_in.insert(StringField(change, "topic"));
  }
  EXPECT_EQ(offline_in, std::set<std::string>(topics.begin(), topics.end()));
  // Present: the observer alone (alice may be listed as having left, offline).
  for (const auto& topic : topics) {
    const json::object listing =
        HttpGet(b_->port(), "/realtime/presence/" + topic).Json().as_object();
    for (const auto& user : listing.at("users").as_array()) {
      const bool online = StringField(user.as_object(), "status") != "offline";
      EXPECT_EQ(online, StringField(user.as_object(), "user_id") == "observer")
          << json::serialize(listing);
    }
  }
}

}  // namespace
}  // namespace realtime::testing
