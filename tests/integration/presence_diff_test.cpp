// Coalesced presence: a burst of joins reaches a topic's subscribers as a few
// realtime.presence.diff events instead of one event per member per subscriber, a lone change is
// still one realtime.presence.changed at once, and a rule turns a topic's presence events off
// while its presence stays listed. On both engines, and across two nodes with Redis.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "support/client_pool.hpp"
#include "support/redis_process.hpp"
#include "support/server_process.hpp"
#include "support/test_helpers.hpp"

namespace realtime::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

// Long enough that a burst of connects on a loaded (or sanitized) build falls into a few
// windows; the default window is measured in presence_storm_test.cpp.
constexpr const char* kWindowMs = "1000";

// What one subscriber learned from its presence frames.
struct PresenceTally {
  int frames = 0;                     // presence events (changed or diff)
  int changed = 0;                    // of which realtime.presence.changed
  int diffs = 0;                      // of which realtime.presence.diff
  std::multiset<std::string> joined;  // users reported online (a user twice: reported twice)
  std::multiset<std::string> left;

  // Adds `frame` if it is a presence event of `topic`; returns whether it was.
  bool Add(const json::object& frame, std::string_view topic) {
    if (!IsPresenceEvent(frame) || StringField(frame, "topic") != topic) return false;
    ++frames;
    const json::object& data = frame.at("data").as_object();
    if (StringField(frame, "event") == "realtime.presence.changed") {
      ++changed;
      (StringField(data, "new_status") == "offline" ? left : joined)
          .insert(StringField(data, "user_id"));
      return true;
    }
    ++diffs;
    EXPECT_EQ(StringField(data, "topic"), topic);
    for (const auto& j : data.at("joins").as_array()) {
      EXPECT_NE(StringField(j.as_object(), "status"), "offline") << json::serialize(frame);
      joined.insert(StringField(j.as_object(), "user_id"));
    }
    for (const auto& l : data.at("leaves").as_array())
      left.insert(StringField(l.as_object(), "user_id"));
    return true;
  }
};

std::multiset<std::string> UserNames(std::string_view prefix, int n) {
  std::multiset<std::string> out;
  for (int i = 0; i < n; ++i) out.insert(std::string(prefix) + std::to_string(i));
  return out;
}

// Reads `client`'s presence frames of `topic` into `tally` until `done(tally)` holds.
void ReadPresenceUntil(WsClient& client, std::string_view topic, PresenceTally& tally,
                       const std::function<bool(const PresenceTally&)>& done) {
  while (!done(tally)) {
    tally.Add(client.ReadJson(30s), topic);
  }
}

// Whatever presence frames of `topic` are still on their way (a window's worth and more), then a
// ping: a duplicate or a late extra frame would show up here.
void ReadTrailingPresence(WsClient& client, std::string_view topic, PresenceTally& tally) {
  std::this_thread::sleep_for(1500ms);
  for (const auto& f : ReadUntilPong(client, "trailing")) tally.Add(f, topic);
}

// `count` members of `topic` connecting at once (one io thread, all handshakes in flight).
std::unique_ptr<ClientPool> ConnectMembers(std::uint16_t port, std::string_view topic,
                                           std::string prefix, int count) {
  auto pool = std::make_unique<ClientPool>(port, [](std::size_t, std::string_view) {});
  const std::size_t connected = pool->Open(
      static_cast<std::size_t>(count),
      [&](std::size_t i) {
        return ConnectTarget(prefix + std::to_string(i), {std::string(topic)});
      },
      static_cast<std::size_t>(count), 60s);
  EXPECT_EQ(connected, static_cast<std::size_t>(count));
  return pool;
}

// An observer of `topic` that has seen its own join (so what it counts next is the others').
std::unique_ptr<WsClient> Observer(std::uint16_t port, std::string_view topic,
                                   std::string_view user = "observer") {
  auto observer = ConnectUser(port, user, {std::string(topic)});
  ReadPresenceChangeOf(*observer, user);
  return observer;
}

// The storm: 50 members connect at once; the observer gets far fewer than 50 frames and learns
// of each member exactly once. Then they all leave at once, likewise.
void ExpectStormCoalesced(std::uint16_t port, std::uint16_t members_port) {
  const std::string topic = "channel:storm";
  auto observer = Observer(port, topic);
  PresenceTally joins;
  auto pool = ConnectMembers(members_port, topic, "m", 50);
  const auto everyone = UserNames("m", 50);
  ReadPresenceUntil(*observer, topic, joins, [&](const PresenceTally& t) {
    return std::set<std::string>(t.joined.begin(), t.joined.end()).size() == everyone.size();
  });
  ReadTrailingPresence(*observer, topic, joins);
  EXPECT_EQ(joins.joined, everyone);
  EXPECT_TRUE(joins.left.empty());
  EXPECT_LT(joins.frames, 25) << "changed " << joins.changed << ", diffs " << joins.diffs;
  EXPECT_GE(joins.diffs, 1);

  PresenceTally leaves;
  ASSERT_TRUE(pool->CloseAll(30s));
  ReadPresenceUntil(*observer, topic, leaves, [&](const PresenceTally& t) {
    return std::set<std::string>(t.left.begin(), t.left.end()).size() == everyone.size();
  });
  ReadTrailingPresence(*observer, topic, leaves);
  EXPECT_EQ(leaves.left, everyone);
  EXPECT_TRUE(leaves.joined.empty());
  EXPECT_LT(leaves.frames, 25);
}

// A rules file of the test's own, removed with it.
class RulesFile {
 public:
  explicit RulesFile(std::string_view json) {
    std::string pattern = (std::filesystem::temp_directory_path() / "rt-rules-XXXXXX").string();
    const int fd = mkstemp(pattern.data());
    if (fd < 0) throw std::runtime_error("mkstemp failed");
    close(fd);
    path_ = pattern;
    std::ofstream(path_, std::ios::trunc) << json;
  }
  ~RulesFile() {
    std::error_code ec;
    std::filesystem::remove(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

constexpr std::string_view kRules = R"({"topics": [
  {"match": "feed:*", "subscribe": ["*"], "presence": ["*"], "presence_events": false},
  {"match": "realtime.events", "subscribe": ["*"]},
  {"match": "**", "subscribe": ["*"], "publish": ["*"], "typing": ["*"], "presence": ["*"]}
]})";

class PresenceDiffTest : public ::testing::Test {
 protected:
  std::uint16_t port() const { return server_.port(); }

  RulesFile rules_{kRules};
  ServerProcess server_{ServerProcess::DevArgs(),
                        ServerProcess::Env{{"REALTIME_PRESENCE_WINDOW_MS", kWindowMs},
                                           {"REALTIME_RULES_FILE", rules_.path()}}};
};

TEST_F(PresenceDiffTest, FiftyMembersConnectingAtOnceAreAFewDiffs) {
  ExpectStormCoalesced(port(), port());
}

TEST_F(PresenceDiffTest, MembersWhoDropAndComeBackInOneWindowAreNearlySilent) {
  const std::string topic = "channel:redeploy";
  auto observer = Observer(port(), topic);
  auto pool = ConnectMembers(port(), topic, "r", 20);
  PresenceTally joins;
  ReadPresenceUntil(*observer, topic, joins,
                    [](const PresenceTally& t) { return t.joined.size() == 20; });
  ReadTrailingPresence(*observer, topic, joins);
  // A proxy resets them all and they reconnect at once: net, nothing changed.
  ASSERT_TRUE(pool->CloseAll(30s));
  pool = ConnectMembers(port(), topic, "r", 20);
  PresenceTally storm;
  ReadTrailingPresence(*observer, topic, storm);
  // The observer's view, replayed: everyone is online again.
  std::map<std::string, int> online;
  for (const auto& u : UserNames("r", 20)) online[u] = 1;
  for (const auto& u : storm.left) --online[u];
  for (const auto& u : storm.joined) ++online[u];
  for (const auto& [user, n] : online) EXPECT_EQ(n, 1) << user;
  // At most the leading leave and the window's diffs, not 40 changes.
  EXPECT_LT(storm.frames, 10) << "changed " << storm.changed << ", diffs " << storm.diffs;
  EXPECT_LT(storm.left.size() + storm.joined.size(), 40u);
}

TEST_F(PresenceDiffTest, ALoneJoinIsStillOnePresenceChangedEvent) {
  auto observer = Observer(port(), "room:lone");
  // Past the window the observer's own join opened: alice's join is a leading edge.
  std::this_thread::sleep_for(1200ms);
  auto alice = ConnectUser(port(), "alice", {"room:lone"});
  const json::object frame =
      observer->ReadUntil([](const json::object& f) { return IsPresenceEvent(f); }, "alice's join");
  EXPECT_EQ(StringField(frame, "event"), "realtime.presence.changed") << json::serialize(frame);
  EXPECT_EQ(frame.at("data"), json::parse(R"({"user_id":"alice","old_status":"offline",)"
                                          R"("new_status":"online","topic":"room:lone"})"));
}

TEST_F(PresenceDiffTest, BackendsStillGetEveryChangeOnTheEventsTopic) {
  auto backend = ConnectUser(port(), "backend", {"realtime.events"});
  auto pool = ConnectMembers(port(), "room:audit", "a", 10);
  std::multiset<std::string> reported;
  while (reported.size() < 10) {
    const json::object f = backend->ReadJson(30s);
    if (StringField(f, "event") == "realtime.presence.diff") ADD_FAILURE() << json::serialize(f);
    if (StringField(f, "event") != "realtime.presence.changed") continue;
    reported.insert(StringField(f.at("data").as_object(), "user_id"));
  }
  EXPECT_EQ(reported, UserNames("a", 10));
}

TEST_F(PresenceDiffTest, ATopicWithPresenceEventsOffGetsNoneButListsItsMembers) {
  auto observer = ConnectUser(port(), "observer", {"feed:news"});
  auto pool = ConnectMembers(port(), "feed:news", "r", 5);
  auto bob = ConnectUser(port(), "bob", {"feed:news"});
  ASSERT_TRUE(WaitUntil(
      [&] {
        return HttpGet(port(), "/realtime/presence/feed:news").Json().at("count") == json::value(7);
      },
      20s))
      << HttpGet(port(), "/realtime/presence/feed:news").body;
  bob->Close();
  // An event published now comes after anything presence could have sent: none came before it.
  ASSERT_EQ(Publish(port(), "feed:news", "news.item", R"({"n":1})").status, 202);
  for (;;) {
    const json::object f = observer->ReadJson(10s);
    ASSERT_FALSE(IsPresenceEvent(f)) << json::serialize(f);
    if (StringField(f, "event") == "news.item") break;
  }
  std::this_thread::sleep_for(1500ms);
  for (const auto& f : ReadUntilPong(*observer, "quiet")) {
    EXPECT_FALSE(IsPresenceEvent(f)) << json::serialize(f);
  }
  // The same server still announces presence on other topics.
  auto watcher = Observer(port(), "room:other");
}

TEST_F(PresenceDiffTest, MetricsCountEventsAndCoalescedChanges) {
  auto observer = Observer(port(), "room:metrics");
  auto pool = ConnectMembers(port(), "room:metrics", "c", 10);
  PresenceTally tally;
  ReadPresenceUntil(*observer, "room:metrics", tally,
                    [](const PresenceTally& t) { return t.joined.size() == 10; });
  const HttpResponse metrics = HttpGet(port(), "/metrics");
  const auto changed = MetricValue(
      metrics.body, R"(realtime_presence_events_total{event="realtime.presence.changed"})");
  const auto diffs = MetricValue(
      metrics.body, R"(realtime_presence_events_total{event="realtime.presence.diff"})");
  const auto coalesced = MetricValue(metrics.body, "realtime_presence_changes_coalesced_total");
  ASSERT_TRUE(changed && diffs && coalesced) << metrics.body;
  EXPECT_GE(*changed, 1);  // the observer's own join at least
  EXPECT_GE(*diffs, static_cast<double>(tally.diffs));
  EXPECT_GE(*coalesced, 2);  // at least one diff of two
  EXPECT_EQ(MetricValue(metrics.body, "realtime_presence_changes_muted_total"), 0);
}

TEST(PresenceDiffWindowZeroTest, EveryChangeIsItsOwnEvent) {
  ServerProcess server{ServerProcess::DevArgs({"--presence-window-ms", "0"})};
  auto observer = Observer(server.port(), "room:zero");
  auto pool = ConnectMembers(server.port(), "room:zero", "z", 10);
  PresenceTally tally;
  ReadPresenceUntil(*observer, "room:zero", tally,
                    [](const PresenceTally& t) { return t.joined.size() == 10; });
  EXPECT_EQ(tally.frames, 10);
  EXPECT_EQ(tally.diffs, 0);
  EXPECT_EQ(tally.joined, UserNames("z", 10));
}

// ── Redis ──────────────────────────────────────────────────────────────────────────────────────

constexpr const char* kTokenSecret = "presence-diff-tests-token-secret-012345";

class RedisPresenceDiffTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const ServerProcess* node : {&a_, &b_}) {
      ASSERT_TRUE(WaitUntil([&] { return HttpGet(node->port(), "/health").status == 200; }, 30s))
          << HttpGet(node->port(), "/health").body;
    }
  }
  static std::vector<std::string> NodeArgs(const RedisProcess& redis) {
    return ServerProcess::DevArgs({"--redis-url", redis.Url(), "--token-secret", kTokenSecret,
                                   "--presence-window-ms", kWindowMs});
  }

  RedisProcess redis_;
  ServerProcess a_{NodeArgs(redis_)};
  ServerProcess b_{NodeArgs(redis_)};
};

TEST_F(RedisPresenceDiffTest, FiftyMembersConnectingAtOnceAreAFewDiffs) {
  ExpectStormCoalesced(a_.port(), a_.port());
}

TEST_F(RedisPresenceDiffTest, ADiffCrossesNodes) {
  // The members' node coalesces the changes its scripts reported; the observer is on the other.
  ExpectStormCoalesced(a_.port(), b_.port());
}

TEST_F(RedisPresenceDiffTest, ALoneJoinOnTheOtherNodeIsOnePresenceChangedEvent) {
  auto observer = Observer(a_.port(), "room:lone");
  auto alice = ConnectUser(b_.port(), "alice", {"room:lone"});
  const json::object frame =
      observer->ReadUntil([](const json::object& f) { return IsPresenceEvent(f); }, "alice's join");
  EXPECT_EQ(StringField(frame, "event"), "realtime.presence.changed") << json::serialize(frame);
  EXPECT_EQ(StringField(frame.at("data").as_object(), "user_id"), "alice");
}

TEST_F(RedisPresenceDiffTest, SigtermPublishesTheLeavesStillInAWindow) {
  const std::string topic = "channel:deploy";
  auto observer = Observer(a_.port(), topic);
  auto pool = ConnectMembers(b_.port(), topic, "d", 10);
  PresenceTally joins;
  ReadPresenceUntil(*observer, topic, joins,
                    [](const PresenceTally& t) { return t.joined.size() == 10; });
  // Node b closes its connections; their leaves fall into one window, which b publishes
  // before it exits rather than dropping it.
  b_.Signal(SIGTERM);
  ASSERT_TRUE(b_.WaitForExit(30s).has_value());
  PresenceTally leaves;
  ReadPresenceUntil(*observer, topic, leaves,
                    [](const PresenceTally& t) { return t.left.size() >= 10; });
  EXPECT_EQ(leaves.left, UserNames("d", 10));
  EXPECT_GE(leaves.diffs, 1);
}

}  // namespace
}  // namespace realtime::testing
