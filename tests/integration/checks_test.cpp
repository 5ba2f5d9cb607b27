// Membership checks end to end: the real binary with a rules file whose checks ask SQLite,
// Postgres, a GraphQL endpoint that answers the way Hasura does, and an authorization proxy;
// the server API that takes access away (or grants it); and the refusals at start and on SIGHUP.
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include "support/fake_backend.hpp"
#include "support/postgres_server.hpp"
#include "support/run_process.hpp"
#include "support/server_process.hpp"
#include "support/test_helpers.hpp"

namespace realtime::testing {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

// A directory of the test's own (rules file, SQLite file), removed with it.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "rt-checks-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string File(std::string_view name) const { return path_ + "/" + std::string(name); }

 private:
  std::string path_;
};

void WriteFile(const std::string& path, std::string_view text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
}

void Sqlite(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* error = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
  const std::string message = error != nullptr ? error : "";
  sqlite3_free(error);
  sqlite3_close(db);
  ASSERT_EQ(rc, SQLITE_OK) << message;
}

// The rules a chat uses: channel topics need a membership row; `check` is the check's JSON.
std::string ChatRules(std::string_view check) {
  return R"json({"topics": [
    {"match": "channel:{channel_id}", "subscribe": {"roles": ["user"], "check": "member"},
     "typing": {"check": "member"}, "presence": {"check": "member"}, "publish": ["admin"]},
    {"match": "user:{user_id}", "subscribe": ["*"]},
    {"match": "**", "subscribe": ["admin"], "publish": ["admin"]}],
   "checks": {"member": )json" +
         std::string(check) + "}}";
}

constexpr std::string_view kMemberSql =
    R"({"sql": "SELECT 1 FROM channel_members WHERE channel_id = $channel_id AND user_id = $user_id", "ttl": 1})";

// Runs the server expecting it to stop at start (a configuration error); a server that starts
// is killed after a while and reports -1.
ProcessResult RunServerToExit(std::vector<std::string> args, ServerProcess::Env env) {
  TempDir cwd;
  std::vector<std::string> argv{ServerBinary(), "--host", "127.0.0.1", "--port", "0"};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunProcess(argv, env, cwd.File(""), seconds(20));
}

// Connects as `user` with role `user` (dev mode) and reads the welcome.
std::unique_ptr<WsClient> ConnectAs(std::uint16_t port, const std::string& user,
                                    const std::string& role = "user") {
  WsConnectOptions options;
  options.target = ConnectTarget(user) + "&role=" + role;
  auto client = WsClient::Connect(port, options);
  EXPECT_EQ(StringField(client->ReadJson(), "type"), "welcome");
  return client;
}

// Sends a subscribe and returns its answer (subscribed or error), skipping presence events.
json::object SubscribeReply(WsClient& client, const std::string& topic, const std::string& id) {
  client.Send(R"({"type":"subscribe","topic":")" + topic + R"(","id":")" + id + R"("})");
  return client.ReadUntil(
      [&](const json::object& o) {
        return StringField(o, "id") == id && StringField(o, "type") != "event";
      },
      "the answer to subscribe " + topic);
}

json::object ReadUntilType(WsClient& client, std::string_view type,
                           std::chrono::milliseconds timeout = kReadTimeout) {
  return client.ReadUntil([&](const json::object& o) { return StringField(o, "type") == type; },
                          type, timeout);
}

class SqliteCheckTest : public ::testing::Test {
 protected:
  SqliteCheckTest() {
    Sqlite(db_,
           "CREATE TABLE channel_members (channel_id TEXT, user_id TEXT);"
           "INSERT INTO channel_members VALUES ('42', 'alice'), ('42', 'bob'), ('7', 'bob');");
    WriteFile(rules_, ChatRules(kMemberSql));
    server_ = std::make_unique<ServerProcess>(
        ServerProcess::DevArgs(),
        ServerProcess::Env{{"DATABASE_URL", "sqlite:" + db_}, {"REALTIME_RULES_FILE", rules_}});
  }
  std::uint16_t port() const { return server_->port(); }

  TempDir dir_;
  std::string db_ = dir_.File("app.db");
  std::string rules_ = dir_.File("rules.json");
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(SqliteCheckTest, MembersSubscribeAndOthersAreForbidden) {
  auto alice = ConnectAs(port(), "alice");
  EXPECT_EQ(StringField(SubscribeReply(*alice, "channel:42", "s1"), "type"), "subscribed");
  const json::object refused = SubscribeReply(*alice, "channel:7", "s2");
  EXPECT_EQ(StringField(refused, "type"), "error") << json::serialize(refused);
  EXPECT_EQ(StringField(refused, "code"), "forbidden");
  // Subscribed means live: an event published now arrives.
  ASSERT_EQ(Publish(port(), "channel:42", "chat.message.created", R"({"n":1})").status, 202);
  EXPECT_EQ(ExpectEvent(*alice, "channel:42", "chat.message.created"), json::parse(R"({"n":1})"));
}

TEST_F(SqliteCheckTest, TypingAndPresenceFollowTheCheckToo) {
  auto carol = ConnectAs(port(), "carol");
  carol->Send(R"({"type":"typing","topic":"channel:42","state":"start","id":"t1"})");
  const json::object reply = carol->ReadUntil(
      [](const json::object& o) { return StringField(o, "id") == "t1"; }, "the typing answer");
  EXPECT_EQ(StringField(reply, "code"), "forbidden") << json::serialize(reply);
}

TEST_F(SqliteCheckTest, SqlInjectionInATopicIsABadTopicOrFindsNoRow) {
  auto alice = ConnectAs(port(), "alice");
  // Quotes, semicolons, stars, spaces and = are not topic characters.
  for (const std::string topic :
       {"channel:42' OR '1'='1", "channel:42;DROP", "channel:1/**/OR/**/1=1"}) {
    const json::object r = SubscribeReply(*alice, topic, "q1");
    EXPECT_EQ(StringField(r, "code"), "bad_request") << topic << ": " << json::serialize(r);
  }
  // Every character here is a valid topic character: it is bound as a value and matches nothing.
  for (const std::string topic : {"channel:42--", "channel:42/-/1", "channel:@42"}) {
    const json::object r = SubscribeReply(*alice, topic, "q2");
    EXPECT_EQ(StringField(r, "code"), "forbidden") << topic << ": " << json::serialize(r);
  }
  EXPECT_EQ(StringField(SubscribeReply(*alice, "channel:42", "q3"), "type"), "subscribed");
}

TEST_F(SqliteCheckTest, UnsubscribeApiEndsEveryConnectionsSubscriptionAtOnce) {
  auto tab1 = ConnectAs(port(), "bob");
  auto tab2 = ConnectAs(port(), "bob");
  ASSERT_EQ(StringField(SubscribeReply(*tab1, "channel:42", "a"), "type"), "subscribed");
  ASSERT_EQ(StringField(SubscribeReply(*tab2, "channel:42", "b"), "type"), "subscribed");
  Sqlite(db_, "DELETE FROM channel_members WHERE user_id = 'bob' AND channel_id = '42'");
  const auto r =
      HttpPostJson(port(), "/realtime/unsubscribe", R"({"user_id":"bob","topic":"channel:42"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json(), json::parse(R"({"local":2,"broadcast":true})"));
  for (auto* tab : {tab1.get(), tab2.get()}) {
    const json::object gone = ReadUntilType(*tab, "unsubscribed");
    EXPECT_EQ(StringField(gone, "topic"), "channel:42");
    EXPECT_EQ(StringField(gone, "reason"), "removed");
  }
  // Nothing more arrives for that topic, and the cached allow is gone: asking again is refused.
  ASSERT_EQ(Publish(port(), "channel:42", "after", "1").status, 202);
  const json::object again = SubscribeReply(*tab1, "channel:42", "c");
  EXPECT_EQ(StringField(again, "code"), "forbidden") << json::serialize(again);
  const auto pong = ReadUntilPong(*tab1, "p");
  for (const auto& frame : pong) EXPECT_NE(StringField(frame, "event"), "after");
}

TEST_F(SqliteCheckTest, ARowDeletedWithoutTheApiEndsTheSubscriptionWhenTheCheckIsDueAgain) {
  auto alice = ConnectAs(port(), "alice");
  ASSERT_EQ(StringField(SubscribeReply(*alice, "channel:42", "s"), "type"), "subscribed");
  Sqlite(db_, "DELETE FROM channel_members WHERE user_id = 'alice'");
  // ttl 1 s: asked again between 1 and 1.25 s after the subscribe (plus the shard's gathering).
  const json::object gone = ReadUntilType(*alice, "unsubscribed", seconds(10));
  EXPECT_EQ(StringField(gone, "topic"), "channel:42");
  EXPECT_EQ(StringField(gone, "reason"), "forbidden");
}

TEST_F(SqliteCheckTest, ServerSideSubscribeJoinsEveryConnectionWithoutACheck) {
  auto dave = ConnectAs(port(), "dave");  // no membership row anywhere
  const auto r =
      HttpPostJson(port(), "/realtime/subscribe", R"({"user_id":"dave","topic":"channel:99"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json(), json::parse(R"({"local":1,"broadcast":true})"));
  const json::object joined = ReadUntilType(*dave, "subscribed");
  EXPECT_EQ(StringField(joined, "topic"), "channel:99");
  EXPECT_EQ(joined.at("server"), json::value(true));
  ASSERT_EQ(Publish(port(), "channel:99", "dm.started", "{}").status, 202);
  EXPECT_EQ(ExpectEvent(*dave, "channel:99", "dm.started"), json::parse("{}"));
  // A user with no connection here: nothing to do, and it says so.
  EXPECT_EQ(
      HttpPostJson(port(), "/realtime/subscribe", R"({"user_id":"nobody","topic":"x"})").Json(),
      json::parse(R"({"local":0,"broadcast":true})"));
}

TEST_F(SqliteCheckTest, DisconnectApiClosesWith4003) {
  auto erin = ConnectAs(port(), "erin");
  auto other = ConnectAs(port(), "frank");
  const auto r =
      HttpPostJson(port(), "/realtime/disconnect", R"({"user_id":"erin","reason":"banned"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json(), json::parse(R"({"local":1,"broadcast":true})"));
  const CloseResult closed = erin->WaitForClose();
  EXPECT_TRUE(closed.close_frame);
  EXPECT_EQ(closed.code, 4003);
  EXPECT_NO_THROW(ReadUntilPong(*other, "still-here"));
}

TEST_F(SqliteCheckTest, ServerApiRefusesBadInputAndNeedsTheKey) {
  for (const auto& [path, body] : std::vector<std::pair<std::string, std::string>>{
           {"/realtime/unsubscribe", R"({"user_id":"a"})"},
           {"/realtime/subscribe", R"({"topic":"x"})"},
           {"/realtime/subscribe", R"({"user_id":"a b","topic":"x"})"},
           {"/realtime/disconnect", R"({"user_id":"a","reason":")" + std::string(124, 'r') + "\"}"},
           {"/realtime/disconnect", "not json"}}) {
    const auto r = HttpPostJson(port(), path, body);
    EXPECT_EQ(r.status, 400) << path << ' ' << body << ": " << r.body;
  }
  EXPECT_EQ(HttpGet(port(), "/realtime/disconnect").status, 405);
}

TEST_F(SqliteCheckTest, SighupReloadsTheRulesAndABadFileKeepsTheOldOnes) {
  auto bob = ConnectAs(port(), "bob");
  EXPECT_EQ(StringField(SubscribeReply(*bob, "channel:7", "a"), "type"), "subscribed");
  // A file that does not parse: the old rules stay.
  WriteFile(rules_, "{not json");
  server_->Signal(SIGHUP);
  ASSERT_TRUE(WaitUntil([&] { return server_->Log().find("not reloaded") != std::string::npos; },
                        seconds(10)))
      << server_->Log();
  EXPECT_EQ(StringField(SubscribeReply(*bob, "channel:42", "b"), "type"), "subscribed");
  // SQL that does not prepare: the old rules stay, and the log names the check.
  WriteFile(rules_, ChatRules(R"({"sql": "SELECT 1 FROM no_such_table WHERE c = $channel_id"})"));
  server_->Signal(SIGHUP);
  ASSERT_TRUE(WaitUntil([&] { return server_->Log().find("no_such_table") != std::string::npos; },
                        seconds(10)))
      << server_->Log();
  // Good rules: channel 7 is closed to everyone from now on.
  WriteFile(
      rules_,
      ChatRules(
          R"({"sql": "SELECT 1 FROM channel_members WHERE channel_id = $channel_id AND channel_id <> '7' AND user_id = $user_id"})"));
  server_->Signal(SIGHUP);
  ASSERT_TRUE(WaitUntil(
      [&] { return server_->Log().find("SIGHUP: reloaded") != std::string::npos; }, seconds(10)))
      << server_->Log();
  auto bob2 = ConnectAs(port(), "bob");
  EXPECT_EQ(StringField(SubscribeReply(*bob2, "channel:7", "c"), "code"), "forbidden");
}

TEST(CheckStartupTest, SqlThatDoesNotPrepareStopsTheServerWithExit2NamingTheCheck) {
  TempDir dir;
  Sqlite(dir.File("app.db"), "CREATE TABLE other (x TEXT);");
  WriteFile(
      dir.File("rules.json"),
      ChatRules(R"({"sql": "SELECT 1 FROM channel_members WHERE channel_id = $channel_id"})"));
  const auto result = RunServerToExit({"--dev"}, {{"DATABASE_URL", "sqlite:" + dir.File("app.db")},
                                                  {"REALTIME_RULES_FILE", dir.File("rules.json")}});
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_NE(result.output.find("check \"member\""), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("channel:{channel_id}"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("channel_members"), std::string::npos) << result.output;
}

TEST(CheckStartupTest, ARuleNamingAnUnknownCheckStopsTheServerWithExit2) {
  TempDir dir;
  WriteFile(dir.File("rules.json"),
            R"({"topics": [{"match": "dm:{id}", "subscribe": {"check": "nope"}}]})");
  const auto result = RunServerToExit({"--dev"}, {{"REALTIME_RULES_FILE", dir.File("rules.json")}});
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_NE(result.output.find("unknown check \"nope\""), std::string::npos) << result.output;
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

TEST(PostgresCheckTest, MembersSubscribeOthersAreForbiddenAndANonUuidFindsNoRow) {
  if (PostgresServer::BinDir().empty())
    GTEST_SKIP() << "PostgreSQL server binaries are not installed";
  PostgresServer pg;
  pg.Query("CREATE TABLE channel_members (channel_id uuid, user_id text)");
  pg.Query("INSERT INTO channel_members VALUES ('0e7f3c2a-1111-4b4b-8c8c-000000000042', 'alice')");
  TempDir dir;
  WriteFile(
      dir.File("rules.json"),
      ChatRules(
          R"({"sql": "SELECT 1 FROM channel_members WHERE channel_id = $channel_id AND user_id = $user_id"})"));
  ServerProcess server(ServerProcess::DevArgs(), {{"DATABASE_URL", pg.Url()},
                                                  {"REALTIME_RULES_FILE", dir.File("rules.json")}});
  auto alice = ConnectAs(server.port(), "alice");
  EXPECT_EQ(StringField(SubscribeReply(*alice, "channel:0e7f3c2a-1111-4b4b-8c8c-000000000042", "a"),
                        "type"),
            "subscribed");
  EXPECT_EQ(StringField(SubscribeReply(*alice, "channel:0e7f3c2a-1111-4b4b-8c8c-000000000007", "b"),
                        "code"),
            "forbidden");
  // Not a uuid: Postgres refuses the value, which is a denial, not an outage.
  EXPECT_EQ(StringField(SubscribeReply(*alice, "channel:1'--", "c"), "code"), "bad_request");
  EXPECT_EQ(StringField(SubscribeReply(*alice, "channel:42", "d"), "code"), "forbidden");
  // Postgres stopped: a check that can't be asked is unavailable, never forbidden.
  pg.Stop();
  const json::object down =
      SubscribeReply(*alice, "channel:0e7f3c2a-1111-4b4b-8c8c-000000000099", "e");
  EXPECT_EQ(StringField(down, "code"), "unavailable") << json::serialize(down);
}

// ---------------------------------------------------------------------------------------------
// Hasura: a GraphQL endpoint that answers like Hasura, per channel id.

FakeBackend::Answer HasuraLike(const FakeBackend::Request& request) {
  const json::value body = json::parse(request.body);
  const std::string channel(body.at("variables").at("channel_id").as_string());
  if (channel == "member") return {200, R"({"data":{"members":[{"user_id":"alice"}]}})"};
  if (channel == "empty") return {200, R"({"data":{"members":[]}})"};
  if (channel == "null") return {200, R"({"data":{"members":null}})"};
  if (channel == "errors") {
    return {200, R"({"errors":[{"message":"field 'members' not found in type: 'query_root'"}]})"};
  }
  if (channel == "slow") return {200, R"({"data":{"members":[{}]}})", milliseconds(3000)};
  return {500, "{}"};
}

class HasuraCheckTest : public ::testing::Test {
 protected:
  HasuraCheckTest() {
    WriteFile(
        rules_,
        ChatRules(
            R"({"hasura": "query($channel_id: String!) { members(where: {channel_id: {_eq: $channel_id}}) { user_id } }", "timeout": 0.5})"));
    server_ = std::make_unique<ServerProcess>(
        ServerProcess::DevArgs(),
        ServerProcess::Env{{"REALTIME_RULES_FILE", rules_},
                           {"HASURA_GRAPHQL_ENDPOINT", hasura_.Url("/v1/graphql")},
                           {"HASURA_GRAPHQL_ADMIN_SECRET", "admin-secret-of-the-test"}});
  }
  std::uint16_t port() const { return server_->port(); }

  TempDir dir_;
  std::string rules_ = dir_.File("rules.json");
  FakeBackend hasura_{HasuraLike};
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(HasuraCheckTest, AsksWithTheCallersRoleAndUserId) {
  auto alice = ConnectAs(port(), "alice");
  EXPECT_EQ(StringField(SubscribeReply(*alice, "channel:member", "a"), "type"), "subscribed");
  const auto requests = hasura_.Requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].target, "/v1/graphql");
  EXPECT_EQ(requests[0].Header("x-hasura-role"), "user");
  EXPECT_EQ(requests[0].Header("x-hasura-user-id"), "alice");
  EXPECT_EQ(requests[0].Header("x-hasura-admin-secret"), "admin-secret-of-the-test");
  EXPECT_EQ(json::parse(requests[0].body).at("variables"),
            json::parse(R"({"channel_id":"member"})"));
}

TEST_F(HasuraCheckTest, NullEmptyAndErrorsDenySlowAndDownAreUnavailable) {
  auto alice = ConnectAs(port(), "alice");
  EXPECT_EQ(StringField(SubscribeReply(*alice, "channel:empty", "a"), "code"), "forbidden");
  EXPECT_EQ(StringField(SubscribeReply(*alice, "channel:null", "b"), "code"), "forbidden");
  EXPECT_EQ(StringField(SubscribeReply(*alice, "channel:errors", "c"), "code"), "forbidden");
  EXPECT_EQ(StringField(SubscribeReply(*alice, "channel:slow", "d"), "code"), "unavailable");
  EXPECT_EQ(StringField(SubscribeReply(*alice, "channel:boom", "e"), "code"), "unavailable");
  // The GraphQL error is logged, once per check.
  EXPECT_EQ(StringField(SubscribeReply(*alice, "channel:errors", "f"), "code"), "forbidden");
  ASSERT_TRUE(WaitUntil(
      [&] { return server_->Log().find("not found in type") != std::string::npos; }, seconds(5)));
  const std::string log = server_->Log();
  EXPECT_EQ(log.find("not found in type"), log.rfind("not found in type")) << log;
  hasura_.Stop();
  EXPECT_EQ(StringField(SubscribeReply(*alice, "channel:member2", "g"), "code"), "unavailable");
}

TEST(HasuraCheckStartupTest, AHasuraCheckWithoutTheEndpointIsAConfigurationError) {
  TempDir dir;
  WriteFile(
      dir.File("rules.json"),
      ChatRules(R"({"hasura": "query($channel_id: String!) { m(id: $channel_id) { id } }"})"));
  const auto result = RunServerToExit({"--dev"}, {{"REALTIME_RULES_FILE", dir.File("rules.json")}});
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_NE(result.output.find("HASURA_GRAPHQL_ENDPOINT"), std::string::npos) << result.output;
}

// ---------------------------------------------------------------------------------------------
// A subscribe proxy.

class ProxyCheckTest : public ::testing::Test {
 protected:
  ProxyCheckTest() {
    WriteFile(rules_, ChatRules(R"({"http": ")" + proxy_.Url("/realtime/authorize") +
                                R"(", "timeout": 0.5})"));
    server_ = std::make_unique<ServerProcess>(
        ServerProcess::DevArgs({"--api-key", "proxy-test-key", "--client-rate-limit", "1000"}),
        ServerProcess::Env{{"REALTIME_RULES_FILE", rules_}});
  }
  std::uint16_t port() const { return server_->port(); }

  TempDir dir_;
  std::string rules_ = dir_.File("rules.json");
  FakeBackend proxy_{[](const FakeBackend::Request& r) -> FakeBackend::Answer {
    const json::value body = json::parse(r.body);
    const std::string channel(body.at("params").at("channel_id").as_string());
    if (channel == "yes") return {200, R"({"allow":true})", milliseconds(300)};
    if (channel == "no") return {200, R"({"allow":false})"};
    if (channel == "forbidden") return {403, ""};
    if (channel == "slow") return {200, R"({"allow":true})", milliseconds(3000)};
    return {500, ""};
  }};
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(ProxyCheckTest, AllowDenyAndFailuresAreUnavailable) {
  auto alice = ConnectAs(port(), "alice");
  EXPECT_EQ(StringField(SubscribeReply(*alice, "channel:yes", "a"), "type"), "subscribed");
  EXPECT_EQ(StringField(SubscribeReply(*alice, "channel:no", "b"), "code"), "forbidden");
  EXPECT_EQ(StringField(SubscribeReply(*alice, "channel:forbidden", "c"), "code"), "forbidden");
  EXPECT_EQ(StringField(SubscribeReply(*alice, "channel:boom", "d"), "code"), "unavailable");
  EXPECT_EQ(StringField(SubscribeReply(*alice, "channel:slow", "e"), "code"), "unavailable");
  const auto first = proxy_.Requests().front();
  EXPECT_EQ(first.Header("x-internal-token"), "proxy-test-key");
  EXPECT_EQ(json::parse(first.body),
            json::parse(R"({"user_id":"alice","role":"user","topic":"channel:yes",)"
                        R"("action":"subscribe","params":{"channel_id":"yes"}})"));
  proxy_.Stop();
  EXPECT_EQ(StringField(SubscribeReply(*alice, "channel:down", "f"), "code"), "unavailable");
}

TEST_F(ProxyCheckTest, FiftyConcurrentIdenticalSubscribesMakeOneRequest) {
  std::vector<std::unique_ptr<WsClient>> tabs;
  for (int i = 0; i < 50; ++i) tabs.push_back(ConnectAs(port(), "grace"));
  // All 50 go out before the proxy's 300 ms answer comes back.
  for (auto& tab : tabs) tab->Send(R"({"type":"subscribe","topic":"channel:yes","id":"s"})");
  for (auto& tab : tabs)
    EXPECT_EQ(StringField(ReadUntilType(*tab, "subscribed"), "topic"), "channel:yes");
  EXPECT_EQ(proxy_.RequestCount(), 1u);
}

}  // namespace
}  // namespace realtime::testing
