// The Redis engine when things die: a node killed with -9 goes offline for the others exactly
// once; Redis killed under publish load gives 503s, then every node resubscribes and delivery
// resumes for clients that never reconnected.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <atomic>
#include <csignal>
#include <map>
#include <mutex>
#include <thread>

#include "support/client_pool.hpp"
#include "support/redis_process.hpp"
#include "support/server_process.hpp"
#include "support/test_helpers.hpp"

namespace realtime::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

std::vector<std::string> NodeArgs(const RedisProcess& redis, std::vector<std::string> extra = {}) {
  std::vector<std::string> args{"--redis-url", redis.Url()};
  args.insert(args.end(), extra.begin(), extra.end());
  return ServerProcess::DevArgs(std::move(args));
}

void WaitHealthy(const ServerProcess& node, std::chrono::seconds timeout = 30s) {
  ASSERT_TRUE(WaitUntil([&] { return HttpGet(node.port(), "/health").status == 200; }, timeout))
      << HttpGet(node.port(), "/health").body << "\n"
      << node.Log();
}

bool IsPresenceOf(const json::object& f, std::string_view user) {
  return PresenceChangeIn(f, user).has_value();
}

TEST(RedisFailureTest, KilledNodesUsersGoOfflineOnceForEveryObserver) {
  constexpr int kHeartbeat = 3;
  RedisProcess redis;
  // The doomed node has a short heartbeat: its liveness lapses 1.5 heartbeats after it stops.
  ServerProcess doomed(NodeArgs(redis, {"--heartbeat-seconds", std::to_string(kHeartbeat)}));
  ServerProcess b(NodeArgs(redis));
  ServerProcess c(NodeArgs(redis));
  for (const ServerProcess* node : {&doomed, &b, &c}) ASSERT_NO_FATAL_FAILURE(WaitHealthy(*node));

  auto on_b = ConnectUser(b.port(), "observer-b", {"channel:1"});
  auto on_c = ConnectUser(c.port(), "observer-c", {"channel:1"});
  auto alice = ConnectUser(doomed.port(), "alice", {"channel:1"});
  for (WsClient* observer : {on_b.get(), on_c.get()}) {
    EXPECT_EQ(StringField(ReadPresenceChangeOf(*observer, "alice"), "new_status"), "online");
  }

  doomed.Signal(SIGKILL);
  const auto killed = std::chrono::steady_clock::now();
  for (WsClient* observer : {on_b.get(), on_c.get()}) {
    const json::object change = ReadPresenceChangeOf(*observer, "alice", 30s);
    EXPECT_EQ(StringField(change, "old_status"), "online");
    EXPECT_EQ(StringField(change, "new_status"), "offline");
  }
  const auto took = std::chrono::steady_clock::now() - killed;
  EXPECT_LE(took, std::chrono::seconds(2 * kHeartbeat + 2))
      << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms";

  // Once: a second reaper would publish a second offline. Give it time to, then look.
  std::this_thread::sleep_for(2s);
  for (WsClient* observer : {on_b.get(), on_c.get()}) {
    for (const auto& f : ReadUntilPong(*observer, "after-reap")) {
      EXPECT_FALSE(IsPresenceOf(f, "alice")) << json::serialize(f);
    }
  }
  // No zombie: alice is listed offline (a departed user, with her last-seen), not online.
  const json::object listing = HttpGet(b.port(), "/realtime/presence/channel:1").Json().as_object();
  for (const auto& u : listing.at("users").as_array()) {
    if (StringField(u.as_object(), "user_id") == "alice") {
      EXPECT_EQ(StringField(u.as_object(), "status"), "offline") << json::serialize(listing);
      EXPECT_EQ(u.at("connections"), json::value(0));
    } else {
      EXPECT_EQ(StringField(u.as_object(), "status"), "online") << json::serialize(listing);
    }
  }
}

TEST(RedisFailureTest, RedisKilledUnderLoadRecoversWithoutReconnectingClients) {
  constexpr std::size_t kPerNode = 10;
  RedisProcess redis;
  ServerProcess a(NodeArgs(redis, {"--heartbeat-seconds", "3600"}));
  ServerProcess b(NodeArgs(redis, {"--heartbeat-seconds", "3600"}));
  for (const ServerProcess* node : {&a, &b}) ASSERT_NO_FATAL_FAILURE(WaitHealthy(*node));

  std::atomic<std::size_t> subscribed{0};
  std::mutex mutex;
  std::map<std::string, std::size_t> markers;  // marker -> subscribers that got it
  auto on_message = [&](std::string_view text) {
    if (text.find(R"("type":"subscribed")") != std::string_view::npos) ++subscribed;
    if (auto at = text.find(R"("marker":")"); at != std::string_view::npos) {
      const auto start = at + 10;
      std::lock_guard lock(mutex);
      ++markers[std::string(text.substr(start, text.find('"', start) - start))];
    }
  };
  ClientPool pool_a(a.port(), [&](std::size_t, std::string_view t) { on_message(t); });
  ClientPool pool_b(b.port(), [&](std::size_t, std::string_view t) { on_message(t); });
  for (ClientPool* pool : {&pool_a, &pool_b}) {
    ASSERT_EQ(pool->Open(
                  kPerNode,
                  [](std::size_t i) { return ConnectTarget("u" + std::to_string(i), {"load"}); },
                  10, 60s),
              kPerNode);
  }
  ASSERT_TRUE(WaitUntil([&] { return subscribed.load() == 2 * kPerNode; }, 30s));
  auto received = [&](const std::string& marker) {
    std::lock_guard lock(mutex);
    return markers[marker];
  };

  // Publishers on both nodes, all the time.
  std::atomic<bool> stop{false};
  std::mutex status_mutex;
  std::map<int, std::size_t> statuses;
  std::vector<std::thread> publishers;
  for (const ServerProcess* node : {&a, &b}) {
    publishers.emplace_back([&, port = node->port()] {
      int n = 0;
      while (!stop) {
        const auto r = Publish(port, "load", "tick", R"({"n":)" + std::to_string(n++) + "}");
        {
          std::lock_guard lock(status_mutex);
          ++statuses[r.status];
        }
        std::this_thread::sleep_for(5ms);
      }
    });
  }
  ASSERT_EQ(Publish(a.port(), "load", "mark", R"({"marker":"before"})").status, 202);
  ASSERT_TRUE(WaitUntil([&] { return received("before") == 2 * kPerNode; }, 30s));

  redis.Kill();
  ASSERT_TRUE(WaitUntil([&] { return HttpGet(a.port(), "/health").status == 503; }, 10s));
  const HttpResponse during = Publish(b.port(), "load", "mark", R"({"marker":"lost"})");
  EXPECT_EQ(during.status, 503) << during.body;
  std::this_thread::sleep_for(3s);
  redis.Start();
  for (const ServerProcess* node : {&a, &b}) ASSERT_NO_FATAL_FAILURE(WaitHealthy(*node));

  // Resubscribed: a marker from either node reaches all 20, who never reconnected.
  for (auto [node, marker] : {std::pair{&a, "after-a"}, std::pair{&b, "after-b"}}) {
    std::string data = R"({"marker":")";
    data += marker;
    data += "\"}";
    ASSERT_EQ(Publish(node->port(), "load", "mark", data).status, 202);
    EXPECT_TRUE(WaitUntil([&] { return received(marker) == 2 * kPerNode; }, 30s))
        << marker << ": " << received(marker);
  }
  stop = true;
  for (auto& t : publishers) t.join();

  EXPECT_EQ(received("lost"), 0u);
  EXPECT_EQ(pool_a.unexpected_ends() + pool_b.unexpected_ends(), 0u);
  std::lock_guard lock(status_mutex);
  EXPECT_GT(statuses[503], 0u) << "no publish saw the outage";
  EXPECT_GT(statuses[202], 0u);
  for (const auto& [status, count] : statuses) {
    EXPECT_TRUE(status == 202 || status == 503) << count << " publishes got " << status;
  }
  for (const ServerProcess* node : {&a, &b}) {
    // Logged once per state change, not per failed publish or reconnect attempt.
    const std::string log = node->Log();
    std::size_t lost = 0;
    for (auto at = log.find("redis commands lost"); at != std::string::npos;
         at = log.find("redis commands lost", at + 1)) {
      ++lost;
    }
    EXPECT_EQ(lost, 1u) << log;
  }
}

}  // namespace
}  // namespace realtime::testing
