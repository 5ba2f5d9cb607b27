// Redis presence is Cluster-safe: every script run touches the keys of one slot only (its
// KEYS[1]'s), apart from the node's own set that a run names as KEYS[2] on one Redis only. Two
// ways: the real store on a single Redis, with every command the nodes send recorded by MONITOR
// (joins, status, leaves, a killed node reaped, a graceful bye); and the script run operation by
// operation on a real 3-master cluster, on the master owning its key.
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <boost/json/object.hpp>

#include <algorithm>
#include <csignal>
#include <map>
#include <set>

#include "presence/redis_presence_script.hpp"
#include "redis/cluster_slots.hpp"
#include "redis/resp.hpp"
#include "support/redis_cluster.hpp"
#include "support/redis_process.hpp"
#include "support/server_process.hpp"
#include "support/test_helpers.hpp"

namespace realtime::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr std::string_view kPrefix = "pslots:";

// One MONITOR line: its source ("lua" for commands a script ran) and arguments.
struct MonitorLine {
  std::string source;
  std::vector<std::string> args;
};

// `<time> [<db> <source>] "arg" "arg" ...`, arguments escaped like sdscatrepr.
MonitorLine ParseMonitorLine(std::string_view line) {
  MonitorLine out;
  const auto open = line.find('[');
  const auto close = line.find(']');
  if (open == std::string_view::npos || close == std::string_view::npos) return out;
  const std::string_view inside = line.substr(open + 1, close - open - 1);
  out.source = std::string(inside.substr(inside.find(' ') + 1));
  for (std::size_t i = close + 1; i < line.size(); ++i) {
    if (line[i] != '"') continue;
    std::string arg;
    for (++i; i < line.size() && line[i] != '"'; ++i) {
      if (line[i] != '\\' || i + 1 >= line.size()) {
        arg += line[i];
        continue;
      }
      const char e = line[++i];
      if (e == 'x' && i + 2 < line.size()) {
        arg += static_cast<char>(std::stoi(std::string(line.substr(i + 1, 2)), nullptr, 16));
        i += 2;
      } else {
        arg += e == 'n' ? '\n' : e == 'r' ? '\r' : e == 't' ? '\t' : e;
      }
    }
    out.args.push_back(std::move(arg));
  }
  return out;
}

// A MONITOR connection: records every command Redis runs from the moment it is made.
class Monitor {
 public:
  explicit Monitor(std::uint16_t port) : context_(redisConnect("127.0.0.1", port)) {
    if (context_ == nullptr || context_->err) throw std::runtime_error("cannot connect MONITOR");
    redisSetTimeout(context_, {30, 0});  // a lost marker fails the test instead of hanging it
    auto* ok = static_cast<redisReply*>(redisCommand(context_, "MONITOR"));
    if (ok == nullptr) throw std::runtime_error("MONITOR failed");
    freeReplyObject(ok);
  }
  ~Monitor() { redisFree(context_); }
  Monitor(const Monitor&) = delete;
  Monitor& operator=(const Monitor&) = delete;

  // Every command seen until the caller's `ECHO marker`.
  std::vector<MonitorLine> LinesUntil(const std::string& marker) {
    std::vector<MonitorLine> lines;
    for (;;) {
      void* raw = nullptr;
      if (redisGetReply(context_, &raw) != REDIS_OK || raw == nullptr) {
        throw std::runtime_error("MONITOR stopped before the marker");
      }
      auto* reply = static_cast<redisReply*>(raw);
      MonitorLine line = ParseMonitorLine(std::string_view(reply->str, reply->len));
      freeReplyObject(reply);
      if (line.args.size() == 2 && line.args[1] == marker) return lines;
      lines.push_back(std::move(line));
    }
  }

 private:
  redisContext* context_;
};

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// A run of the presence script: its EVALSHA and the commands it ran.
struct ScriptRun {
  std::vector<std::string> evalsha;
  std::vector<std::vector<std::string>> inner;
};

std::vector<ScriptRun> PresenceRuns(const std::vector<MonitorLine>& lines, const std::string& sha) {
  std::vector<ScriptRun> runs;
  bool in_presence_run = false;
  for (const MonitorLine& line : lines) {
    if (line.source == "lua") {
      if (in_presence_run) runs.back().inner.push_back(line.args);
      continue;
    }
    in_presence_run =
        line.args.size() >= 2 && Lower(line.args[0]) == "evalsha" && Lower(line.args[1]) == sha;
    if (in_presence_run) runs.push_back({line.args, {}});
  }
  return runs;
}

std::vector<std::string> NodeArgs(const RedisProcess& redis, std::vector<std::string> extra = {}) {
  std::vector<std::string> args{"--redis-url", redis.Url(), "--redis-prefix", std::string(kPrefix)};
  args.insert(args.end(), extra.begin(), extra.end());
  return ServerProcess::DevArgs(std::move(args));
}

void WaitHealthy(const ServerProcess& node) {
  ASSERT_TRUE(WaitUntil([&] { return HttpGet(node.port(), "/health").status == 200; }, 30s))
      << HttpGet(node.port(), "/health").body << "\n"
      << node.Log();
}

// The keys in Redis under the test's prefix whose name goes on with one of `kinds`.
std::vector<std::string> KeysOf(const RedisProcess& redis, std::vector<std::string> kinds) {
  std::vector<std::string> out;
  const std::string all = redis.Command({"KEYS", std::string(kPrefix) + "*"});
  std::size_t start = 0;
  while (start < all.size()) {
    auto end = all.find('\n', start);
    if (end == std::string::npos) end = all.size();
    const std::string key = all.substr(start, end - start);
    for (const std::string& kind : kinds) {
      if (key.starts_with(std::string(kPrefix) + kind)) out.push_back(key);
    }
    start = end + 1;
  }
  return out;
}

// The presence keys left in Redis (every layout key without a TTL holds one of these).
std::vector<std::string> PresenceKeys(const RedisProcess& redis) {
  return KeysOf(redis,
                {"presence:", "pconn:", "pusers:", "user:", "nodetopics:", "nodeusers:", "nodes"});
}

TEST(RedisPresenceSlotsTest, EveryScriptRunOfTheStoreStaysInItsKeysSlot) {
  RedisProcess redis;
  // The doomed node's liveness lapses soon after it is killed (1 s heartbeat).
  ServerProcess doomed(NodeArgs(redis, {"--heartbeat-seconds", "1"}));
  ServerProcess survivor(NodeArgs(redis));
  for (const ServerProcess* node : {&doomed, &survivor})
    ASSERT_NO_FATAL_FAILURE(WaitHealthy(*node));
  Monitor monitor(redis.port());

  auto observer = ConnectUser(survivor.port(), "observer", {"room:1"});
  auto alice = ConnectUser(doomed.port(), "alice", {"room:1", "room:2", "room:3"});
  EXPECT_EQ(StringField(ReadPresenceChangeOf(*observer, "alice"), "new_status"), "online");
  auto bob = ConnectUser(survivor.port(), "bob", {"room:1", "room:2"});
  EXPECT_EQ(StringField(ReadPresenceChangeOf(*observer, "bob"), "new_status"), "online");
  alice->Send(R"({"type":"presence","status":"away"})");
  EXPECT_EQ(StringField(ReadPresenceChangeOf(*observer, "alice"), "new_status"), "away");
  bob->Close();
  EXPECT_EQ(StringField(ReadPresenceChangeOf(*observer, "bob"), "new_status"), "offline");

  // Killed: the survivor reaps it topic by topic, user by user.
  doomed.Signal(SIGKILL);
  const json::object reaped = ReadPresenceChangeOf(*observer, "alice", 30s);
  EXPECT_EQ(StringField(reaped, "new_status"), "offline");
  const std::string nodes_key = presence_nodes_key(kPrefix);
  ASSERT_TRUE(WaitUntil(
      [&] {
        return redis.Command({"ZCARD", nodes_key}) == "1";
      },
      30s))
      << "the reaped node's deadline is still there";

  // Leaves gracefully: its own connections go, then its bye reaps what is left.
  survivor.Signal(SIGTERM);
  ASSERT_TRUE(survivor.WaitForExit(30s).has_value());
  EXPECT_EQ(PresenceKeys(redis), std::vector<std::string>{}) << "nothing left behind";
  // The users' last change times stay a minute (they order rows), then expire.
  const auto times = KeysOf(redis, {"userat:"});
  EXPECT_EQ(times.size(), 3u) << "observer, alice, bob";
  for (const std::string& key : times) {
    EXPECT_GT(std::stoll(redis.Command({"PTTL", key})), 0) << key << " must expire";
  }

  const std::string marker = "presence-slots-test-end";
  redis.Command({"ECHO", marker});
  const std::vector<MonitorLine> lines = monitor.LinesUntil(marker);
  const std::vector<ScriptRun> runs = PresenceRuns(lines, script_sha1(redis_presence_script));
  for (const MonitorLine& line : lines) {
    if (line.source == "lua" || line.args.empty()) continue;
    const std::string command = Lower(line.args[0]);
    EXPECT_TRUE(command != "sadd" && command != "srem")
        << "on one Redis the scripts keep the node sets: " << command << " " << line.args.at(1);
  }

  std::set<std::string> operations;
  std::set<std::string> tracking;  // operations that kept a node set (KEYS[2])
  for (const ScriptRun& run : runs) {
    ASSERT_GE(run.evalsha.size(), 6u);
    // One KEY routes the script. On one Redis a second may name the node's topic or user set,
    // the only key of another slot it may touch (on Cluster the node sends SADD/SREM itself).
    const std::string& key_count = run.evalsha[2];
    ASSERT_TRUE(key_count == "1" || key_count == "2") << key_count;
    const std::size_t keys = key_count == "1" ? 1 : 2;
    ASSERT_GE(run.evalsha.size(), 5 + keys);
    const std::string& routing_key = run.evalsha[3];
    const std::string node_set = keys == 2 ? run.evalsha[4] : std::string();
    const std::string& op = run.evalsha[4 + keys];
    operations.insert(op);
    if (!node_set.empty()) {
      EXPECT_TRUE(node_set.starts_with(std::string(kPrefix) + "nodetopics:") ||
                  node_set.starts_with(std::string(kPrefix) + "nodeusers:"))
          << op << " named " << node_set;
      tracking.insert(op);
    }
    for (const auto& command : run.inner) {
      if (Lower(command.at(0)) == "time") continue;  // the only command without a key
      ASSERT_GE(command.size(), 2u);
      if (command[1] == node_set) {
        EXPECT_TRUE(Lower(command[0]) == "sadd" || Lower(command[0]) == "srem") << op;
        continue;
      }
      EXPECT_EQ(key_slot(command[1]), key_slot(routing_key))
          << op << " routed by " << routing_key << " touched " << command[1];
    }
  }
  for (const char* op : {"connect", "join", "status", "userstatus", "leave", "disconnect", "alive",
                         "reaptopic", "reapuser", "gone"}) {
    EXPECT_TRUE(operations.contains(op)) << op << " never ran";
  }
  EXPECT_EQ(tracking, (std::set<std::string>{"connect", "join", "leave", "disconnect"}));
}

// The script on a real 3-master cluster, each operation sent to the master owning its KEYS[1]
// the way command_for_key routes it. A key of another slot would fail the run ("Script
// attempted to access keys that do not hash to the same slot" or a non-local key).
class RedisPresenceClusterTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cluster_ = new RedisCluster(3);
    for (std::size_t node = 0; node < cluster_->size(); ++node) {
      cluster_->Command(node, {"SCRIPT", "LOAD", std::string(redis_presence_script)});
    }
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }

  std::uint16_t PortOf(const std::string& key) const {
    return cluster_->ports().at(cluster_->NodeOfSlot(key_slot(key)));
  }

  // EVALSHA with KEYS[1] = key on its owner; the reply, which must not be an error.
  RedisReply Run(const std::string& key, std::vector<std::string> args) const {
    std::vector<std::string> argv{"EVALSHA", script_sha1(redis_presence_script), "1", key,
                                  std::string(kPrefix)};
    argv.insert(argv.end(), args.begin(), args.end());
    RedisReply reply = RedisRun(PortOf(key), argv);
    EXPECT_NE(reply->type, REDIS_REPLY_ERROR)
        << args.at(0) << " on " << key << ": " << std::string(reply->str, reply->len);
    return reply;
  }
  RedisReply OnTopic(std::string_view topic, std::vector<std::string> args) const {
    return Run(presence_topic_key(kPrefix, topic), std::move(args));
  }
  RedisReply OnUser(std::string_view user, std::vector<std::string> args) const {
    return Run(presence_user_key(kPrefix, user), std::move(args));
  }
  // A plain command on its key's owner, as text.
  std::string Plain(const std::string& key, std::vector<std::string> args) const {
    return RedisCommand(PortOf(key), args);
  }
  std::string TopicHash(std::string_view topic) const {
    const std::string key = presence_topic_key(kPrefix, topic);
    return Plain(key, {"HGETALL", key});
  }

  static RedisCluster* cluster_;
};

RedisCluster* RedisPresenceClusterTest::cluster_ = nullptr;

// Flat text of a {topic changes, user changes} reply: "changes|users", each user change without
// its time. The times are checked here: a number, strictly increasing per user across runs
// (rows written by several nodes are ordered by it).
std::string Changes(const RedisReply& reply) {
  static std::map<std::string, long long> last_at;
  if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2) return "not {changes, users}";
  std::string out;
  for (std::size_t part = 0; part < 2; ++part) {
    if (part == 1) out += '|';
    const redisReply* list = reply->element[part];
    for (std::size_t i = 0; i < list->elements; ++i) {
      const std::string item(list->element[i]->str, list->element[i]->len);
      if (part == 1 && i % 4 == 3) {  // user, status, connections, time
        const std::string user(list->element[i - 3]->str, list->element[i - 3]->len);
        const long long at = std::stoll(item);
        EXPECT_GT(at, last_at[user]) << user << "'s change times must increase";
        last_at[user] = at;
        continue;
      }
      if (i > 0) out += ' ';
      out += item;
    }
  }
  return out;
}

TEST_F(RedisPresenceClusterTest, TopicsAndUsersOnDifferentMastersJoinFoldLeaveAndReap) {
  const std::vector<std::string> topics{"room:1", "room:2", "room:3", "room:4"};
  std::set<std::uint16_t> masters;
  for (const auto& t : topics) masters.insert(PortOf(presence_topic_key(kPrefix, t)));
  ASSERT_GE(masters.size(), 2u) << "the topics must spread over masters to prove anything";

  // Node n1 has two tabs of alice, node n2 one of bob; n1 is then reaped.
  EXPECT_EQ(Changes(OnUser("alice", {"connect", "alice", "n1-1", "online"})), "|alice online 1");
  EXPECT_EQ(Changes(OnUser("alice", {"connect", "alice", "n1-2", "away"})), "|alice online 2");
  EXPECT_EQ(Changes(OnUser("bob", {"connect", "bob", "n2-1", "online"})), "|bob online 1");
  for (const auto& t : topics) {
    EXPECT_EQ(Changes(OnTopic(t, {"join", "n1", "alice", "n1-1", "online", t})),
              "alice " + t + " offline online|");
    EXPECT_EQ(Changes(OnTopic(t, {"join", "n1", "alice", "n1-2", "away", t})), "|");
    EXPECT_EQ(Changes(OnTopic(t, {"join", "n2", "bob", "n2-1", "online", t})),
              "bob " + t + " offline online|");
  }
  EXPECT_EQ(TopicHash("room:1"), "alice\nonline:2\nbob\nonline:1");

  // dnd beats online; a status of a connection not in the topic changes nothing.
  EXPECT_EQ(Changes(OnTopic("room:1", {"status", "n1", "alice", "n1-2", "dnd", "room:1"})),
            "alice room:1 online dnd|");
  EXPECT_EQ(Changes(OnTopic("room:1", {"status", "n1", "alice", "n1-9", "away", "room:1"})), "|");
  EXPECT_EQ(Changes(OnUser("alice", {"userstatus", "alice", "n1-2", "dnd"})), "|alice dnd 2");
  EXPECT_EQ(Changes(OnTopic("room:1", {"leave", "n1", "alice", "n1-2", "room:1"})),
            "alice room:1 dnd online|");
  EXPECT_EQ(TopicHash("room:1"), "alice\nonline:1\nbob\nonline:1");

  // Bob leaves room:2 and disconnects: his per-node user set of the topic empties.
  EXPECT_EQ(Changes(OnTopic("room:2", {"leave", "n2", "bob", "n2-1", "room:2"})),
            "bob room:2 online offline|");
  const std::string bob_in_room2 = std::string(kPrefix) + "pusers:{room:2}|n2";
  EXPECT_EQ(Plain(bob_in_room2, {"EXISTS", bob_in_room2}), "0");

  // n1 dies: n2's alive finds it (its deadline is in the past), reaps it per topic and per user.
  const std::string nodes_key = presence_nodes_key(kPrefix);
  RedisReply first = Run(nodes_key, {"alive", "n1", "-1000"});
  ASSERT_EQ(first->type, REDIS_REPLY_ARRAY);
  EXPECT_EQ(first->element[0]->integer, 1) << "a node's first alive finds no deadline";
  RedisReply alive = Run(nodes_key, {"alive", "n2", "60000"});
  ASSERT_EQ(alive->type, REDIS_REPLY_ARRAY);
  ASSERT_EQ(alive->elements, 2u);
  EXPECT_EQ(std::string(alive->element[1]->str, alive->element[1]->len), "n1");
  RedisReply again = Run(nodes_key, {"alive", "n2", "60000"});
  EXPECT_EQ(again->element[0]->integer, 0) << "its own deadline had not passed";

  for (const auto& t : topics) {
    EXPECT_EQ(Changes(OnTopic(t, {"reaptopic", "n1", t})), "alice " + t + " online offline|");
    EXPECT_EQ(Changes(OnTopic(t, {"reaptopic", "n1", t})), "|") << "a second reaper: nothing";
  }
  EXPECT_EQ(Changes(OnUser("alice", {"reapuser", "n1", "alice"})), "|alice offline 0");
  EXPECT_EQ(Changes(OnUser("alice", {"reapuser", "n1", "alice"})), "|");
  EXPECT_EQ(Changes(OnUser("bob", {"reapuser", "n1", "bob"})), "|") << "not n1's connection";
  EXPECT_EQ(TopicHash("room:1"), "bob\nonline:1");
  EXPECT_EQ(TopicHash("room:2"), "");

  RedisReply gone = Run(nodes_key, {"gone", "n1"});
  EXPECT_EQ(gone->integer, 1);
  RedisReply kept = Run(nodes_key, {"gone", "n2"});
  EXPECT_EQ(kept->integer, 0) << "a live node keeps its deadline";

  // Bob's last connection closes.
  EXPECT_EQ(Changes(OnUser("bob", {"disconnect", "bob", "n2-1"})), "|bob offline 0");
  EXPECT_EQ(Changes(OnUser("bob", {"disconnect", "bob", "n2-1"})), "|");
}

}  // namespace
}  // namespace realtime::testing
