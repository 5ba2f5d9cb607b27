// Last-seen persistence end to end: the real server writes np_realtime_presence to a real
// PostgreSQL (started here in a temp dir) and to its default SQLite file; the test reads the
// rows straight from the database.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <sstream>
#include <thread>

#include "support/client_pool.hpp"
#include "support/postgres_server.hpp"
#include "support/run_process.hpp"
#include "support/server_process.hpp"
#include "support/stored_presence.hpp"
#include "support/test_helpers.hpp"

namespace realtime::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using StoredRows = std::map<std::string, StoredPresence>;
using Fetch = std::function<StoredRows()>;

// Generous: the machine may be loaded and everything may run under ASan.
constexpr auto kDbTimeout = 60s;

std::int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string TestName() { return ::testing::UnitTest::GetInstance()->current_test_info()->name(); }

std::string Describe(const StoredRows& rows, std::size_t max = 5) {
  std::string out = std::to_string(rows.size()) + " rows:";
  for (const auto& [user, r] : rows) {
    if (max-- == 0) break;
    out += " " + user + "=" + r.status + "/" + std::to_string(r.connections);
  }
  return out;
}

// Polls until `rows` satisfy `want`; the last rows read are left in `rows`.
bool WaitForRows(const Fetch& fetch, StoredRows& rows,
                 const std::function<bool(const StoredRows&)>& want) {
  return WaitUntil(
      [&] {
        rows = fetch();
        return want(rows);
      },
      kDbTimeout, 50ms);
}

bool AllAre(const StoredRows& rows, std::size_t count, std::string_view status, int connections) {
  if (rows.size() != count) return false;
  for (const auto& [user, r] : rows) {
    if (r.status != status || r.connections != connections) return false;
  }
  return true;
}

// 200 users connect (200 rows online, 1 connection) and disconnect: 200 rows offline, 0
// connections, last_seen_at within a second of the disconnect.
void TwoHundredUsers(const ServerProcess& server, const Fetch& fetch) {
  constexpr std::size_t kUsers = 200;
  ClientPool pool(server.port(), [](std::size_t, std::string_view) {});
  const std::size_t opened = pool.Open(
      kUsers, [](std::size_t i) { return ConnectTarget("user" + std::to_string(i), {"room"}); }, 50,
      2min);
  ASSERT_EQ(opened, kUsers) << ::testing::PrintToString(pool.failures());
  StoredRows rows;
  ASSERT_TRUE(WaitForRows(fetch, rows, [&](const StoredRows& r) {
    return AllAre(r, kUsers, "online", 1);
  })) << Describe(rows);

  const std::int64_t before = NowMs();
  ASSERT_TRUE(pool.CloseAll(2min));
  const std::int64_t after = NowMs();
  ASSERT_TRUE(WaitForRows(fetch, rows, [&](const StoredRows& r) {
    return AllAre(r, kUsers, "offline", 0);
  })) << Describe(rows);
  for (std::size_t i = 0; i < kUsers; ++i) {
    const std::string user = "user" + std::to_string(i);
    ASSERT_TRUE(rows.contains(user)) << user;
    EXPECT_GE(rows[user].last_seen_ms, before - 5) << user;  // ms rounding of the stored time
    EXPECT_LE(rows[user].last_seen_ms, after + 1000) << user;
  }
}

// Two tabs of one user are one row; its connections and status follow the tabs.
void TwoTabs(const ServerProcess& server, const Fetch& fetch) {
  auto tab1 = ConnectUser(server.port(), "alice", {"room"});
  auto tab2 = ConnectUser(server.port(), "alice", {"room"});
  StoredRows rows;
  ASSERT_TRUE(WaitForRows(fetch, rows, [](const StoredRows& r) {
    return AllAre(r, 1, "online", 2);
  })) << Describe(rows);

  tab1->Close();
  tab1.reset();
  ASSERT_TRUE(WaitForRows(fetch, rows, [](const StoredRows& r) {
    return AllAre(r, 1, "online", 1);
  })) << Describe(rows);

  tab2->Send(R"({"type":"presence","status":"away","id":"a"})");
  ASSERT_EQ(tab2->ReadSkippingPresence(), json::parse(R"({"type":"ack","id":"a"})").as_object());
  ASSERT_TRUE(WaitForRows(fetch, rows, [](const StoredRows& r) { return AllAre(r, 1, "away", 1); }))
      << Describe(rows);

  const std::int64_t before = NowMs();
  tab2->Close();
  tab2.reset();
  ASSERT_TRUE(WaitForRows(fetch, rows, [](const StoredRows& r) {
    return AllAre(r, 1, "offline", 0);
  })) << Describe(rows);
  EXPECT_GE(rows["alice"].last_seen_ms, before - 5);
  EXPECT_LE(rows["alice"].last_seen_ms, NowMs() + 5);
}

// alice leaves the topic: the presence endpoint lists her offline with the stored last_seen_at
// (read back by the server from the database), next to bob who is present.
void DepartedUsersListed(const ServerProcess& server, const Fetch& fetch) {
  auto alice = ConnectUser(server.port(), "alice", {"room"});
  auto bob = ConnectUser(server.port(), "bob", {"room"});
  alice->Close();
  alice.reset();
  StoredRows rows;
  ASSERT_TRUE(WaitForRows(fetch, rows, [](const StoredRows& r) {
    return r.contains("alice") && r.at("alice").status == "offline";
  })) << Describe(rows);

  const json::object listing = HttpGet(server.port(), "/realtime/presence/room").Json().as_object();
  ASSERT_EQ(listing.at("count"), json::value(2)) << json::serialize(listing);
  for (const auto& entry : listing.at("users").as_array()) {
    const json::object& u = entry.as_object();
    if (StringField(u, "user_id") == "alice") {
      EXPECT_EQ(StringField(u, "status"), "offline");
      EXPECT_EQ(u.at("connections"), json::value(0));
      EXPECT_NEAR(static_cast<double>(u.at("last_seen").to_number<std::int64_t>()),
                  static_cast<double>(rows["alice"].last_seen_ms), 1.0);
    } else {
      EXPECT_EQ(StringField(u, "user_id"), "bob");
      EXPECT_EQ(StringField(u, "status"), "online");
    }
  }
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

class PostgresLastSeenTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (PostgresServer::BinDir().empty()) return;
    try {
      pg_ = new PostgresServer();
    } catch (const std::exception& e) {
      start_error_ = new std::string(e.what());
    }
  }
  static void TearDownTestSuite() {
    delete pg_;
    pg_ = nullptr;
    delete start_error_;
    start_error_ = nullptr;
  }

  void SetUp() override {
    if (PostgresServer::BinDir().empty()) {
      std::cerr << "\n*** SKIPPING Postgres tests: no PostgreSQL server binaries under "
                   "/usr/lib/postgresql (scripts/install-deps installs them) ***\n\n";
      GTEST_SKIP() << "PostgreSQL server binaries are not installed";
    }
    ASSERT_EQ(start_error_, nullptr) << *start_error_;
  }

  // Each test writes under its own source_account_id: the suite shares one Postgres.
  ServerProcess::Env Env() const {
    return {{"DATABASE_URL", pg_->Url()}, {"REALTIME_SOURCE_ACCOUNT_ID", TestName()}};
  }
  Fetch Rows() const {
    return [account = TestName()] { return PostgresPresence(*pg_, account); };
  }

  static PostgresServer* pg_;
  static std::string* start_error_;
};

PostgresServer* PostgresLastSeenTest::pg_ = nullptr;
std::string* PostgresLastSeenTest::start_error_ = nullptr;

TEST_F(PostgresLastSeenTest, TwoHundredUsersConnectAndDisconnect) {
  ServerProcess server(ServerProcess::DevArgs({"--heartbeat-seconds", "3600"}), Env());
  TwoHundredUsers(server, Rows());
}

TEST_F(PostgresLastSeenTest, TwoTabsAreOneRowWithTheirConnectionsCounted) {
  ServerProcess server(ServerProcess::DevArgs(), Env());
  TwoTabs(server, Rows());
}

TEST_F(PostgresLastSeenTest, PresenceListsUsersWhoLeftWithTheirStoredLastSeen) {
  ServerProcess server(ServerProcess::DevArgs(), Env());
  DepartedUsersListed(server, Rows());
}

TEST_F(PostgresLastSeenTest, HealthShowsThePostgresDatabase) {
  ServerProcess server(ServerProcess::DevArgs(), Env());
  const json::object health = HttpGet(server.port(), "/health").Json().as_object();
  EXPECT_EQ(StringField(health, "database"), "ok") << json::serialize(health);
  EXPECT_EQ(StringField(health, "database_kind"), "postgres");
}

TEST_F(PostgresLastSeenTest, MigrateCreatesTheVersionedSchemaAndIsIdempotent) {
  // The servers of the other tests may have migrated already: either way the schema ends at
  // the latest version, and running again changes nothing.
  for (int run = 0; run < 2; ++run) {
    const ProcessResult r =
        RunProcess({ServerBinary(), "--migrate"}, {{"DATABASE_URL", pg_->Url()}});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("schema up to date"), std::string::npos) << r.output;
    if (run == 1) {
      EXPECT_NE(r.output.find(" 0 migration(s) applied"), std::string::npos) << r.output;
    }
  }
  EXPECT_EQ(pg_->Query("SELECT version FROM np_realtime_schema_migrations ORDER BY version"),
            (std::vector<std::vector<std::string>>{{"1"}}));
  const auto columns = pg_->Query(
      "SELECT column_name, data_type FROM information_schema.columns "
      "WHERE table_name = 'np_realtime_presence' ORDER BY ordinal_position");
  EXPECT_EQ(columns,
            (std::vector<std::vector<std::string>>{{"source_account_id", "character varying"},
                                                   {"user_id", "character varying"},
                                                   {"status", "character varying"},
                                                   {"last_seen_at", "timestamp with time zone"},
                                                   {"connections", "integer"},
                                                   {"updated_at", "timestamp with time zone"}}));
}

// nself/migrations/*.down.sql, as an operator or nself would run them (psql -f): they remove
// what the server created, and the server creates it all again afterwards.
TEST_F(PostgresLastSeenTest, DownMigrationsUndoTheSchemaAndTheServerMigratesAgain) {
  const auto migrate = [&] {
    const ProcessResult r =
        RunProcess({ServerBinary(), "--migrate"}, {{"DATABASE_URL", pg_->Url()}});
    ASSERT_EQ(r.exit_code, 0) << r.output;
  };
  const auto tables = [&] {
    return pg_->Query(
        "SELECT table_name FROM information_schema.tables WHERE table_name LIKE 'np_realtime_%' "
        "ORDER BY table_name");
  };
  ASSERT_NO_FATAL_FAILURE(migrate());
  EXPECT_EQ(tables(), (std::vector<std::vector<std::string>>{{"np_realtime_presence"},
                                                             {"np_realtime_schema_migrations"}}));
  // Newest first, each file whole (several statements in one PQexec, like psql -f).
  std::vector<std::filesystem::path> downs;
  for (const auto& e :
       std::filesystem::directory_iterator(REALTIME_SOURCE_DIR "/nself/migrations")) {
    if (e.path().string().ends_with(".down.sql")) downs.push_back(e.path());
  }
  ASSERT_FALSE(downs.empty());
  std::sort(downs.rbegin(), downs.rend());
  for (const auto& file : downs) {
    std::ifstream in(file);
    std::stringstream sql;
    sql << in.rdbuf();
    pg_->Query(sql.str());
  }
  EXPECT_TRUE(tables().empty()) << ::testing::PrintToString(tables());

  ASSERT_NO_FATAL_FAILURE(migrate());
  EXPECT_EQ(tables().size(), 2u);
  ServerProcess server(ServerProcess::DevArgs(), Env());
  TwoTabs(server, Rows());
}

TEST_F(PostgresLastSeenTest, UnreachableDatabaseAtStartIsShownDownAndTheServerStillServes) {
  ServerProcess server(ServerProcess::DevArgs(),
                       {{"DATABASE_URL", "postgres://postgres@127.0.0.1:1/realtime"}});
  const HttpResponse response = HttpGet(server.port(), "/health");
  const json::object health = response.Json().as_object();
  // Degraded, but 200: delivery does not need the database.
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(StringField(health, "status"), "degraded");
  EXPECT_EQ(StringField(health, "database"), "down") << json::serialize(health);
  EXPECT_EQ(health.at("migrations"), (json::object{{"applied", 0}, {"expected", 1}}));
  ASSERT_NO_FATAL_FAILURE(ExpectFreshClientWorks(server.port()));
}

// ---------------------------------------------------------------------------------------------
// SQLite, the default

class SqliteLastSeenTest : public ::testing::Test {
 protected:
  static Fetch Rows(const ServerProcess& server) {
    return [path = server.WorkingDir() + "/realtime.db"] { return SqlitePresence(path); };
  }
};

TEST_F(SqliteLastSeenTest, WithoutDatabaseUrlTheServerWritesRealtimeDbInItsWorkingDirectory) {
  ServerProcess server(ServerProcess::DevArgs());
  EXPECT_NE(server.Log().find("sqlite:./realtime.db (default"), std::string::npos) << server.Log();
  const json::object health = HttpGet(server.port(), "/health").Json().as_object();
  EXPECT_EQ(StringField(health, "database"), "ok");
  EXPECT_EQ(StringField(health, "database_kind"), "sqlite");
  EXPECT_TRUE(std::filesystem::exists(server.WorkingDir() + "/realtime.db"));
}

TEST_F(SqliteLastSeenTest, TwoHundredUsersConnectAndDisconnect) {
  ServerProcess server(ServerProcess::DevArgs({"--heartbeat-seconds", "3600"}));
  TwoHundredUsers(server, Rows(server));
}

TEST_F(SqliteLastSeenTest, TwoTabsAreOneRowWithTheirConnectionsCounted) {
  ServerProcess server(ServerProcess::DevArgs());
  TwoTabs(server, Rows(server));
}

TEST_F(SqliteLastSeenTest, ShutdownWritesTheDisconnectsOfTheClosedConnections) {
  ServerProcess server(ServerProcess::DevArgs());
  std::vector<std::unique_ptr<WsClient>> clients;
  for (const char* user : {"ann", "ben", "cat"})
    clients.push_back(ConnectUser(server.port(), user));
  server.Signal(SIGTERM);
  // Like real clients, they answer the server's 1001 close.
  std::vector<std::thread> readers;
  for (auto& c : clients) readers.emplace_back([&c] { c->WaitForClose(60s); });
  for (auto& r : readers) r.join();
  const auto status = server.WaitForExit(60s);
  ASSERT_TRUE(status && WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << server.Log();
  EXPECT_NE(server.Log().find("every row written"), std::string::npos) << server.Log();
  const auto rows = Rows(server)();
  EXPECT_TRUE(AllAre(rows, 3, "offline", 0)) << Describe(rows);
}

TEST_F(SqliteLastSeenTest, ShutdownRecordsUsersOfConnectionsThatDidNotCloseInTimeOffline) {
  ServerProcess server(ServerProcess::DevArgs());
  // This client never reads, so it never answers the server's close: its session is dropped
  // when the shutdown window ends.
  auto silent = ConnectUser(server.port(), "silent");
  StoredRows rows;
  ASSERT_TRUE(WaitForRows(Rows(server), rows, [](const StoredRows& r) {
    return AllAre(r, 1, "online", 1);
  })) << Describe(rows);
  server.Signal(SIGTERM);
  const auto status = server.WaitForExit(60s);
  ASSERT_TRUE(status && WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << server.Log();
  EXPECT_NE(server.Log().find("1 users of dropped connections recorded offline"), std::string::npos)
      << server.Log();
  rows = Rows(server)();
  EXPECT_TRUE(AllAre(rows, 1, "offline", 0)) << Describe(rows);
}

TEST_F(SqliteLastSeenTest, PresenceListsUsersWhoLeftWithTheirStoredLastSeen) {
  ServerProcess server(ServerProcess::DevArgs());
  DepartedUsersListed(server, Rows(server));
}

TEST_F(SqliteLastSeenTest, DatabaseUrlNoneWritesNothing) {
  ServerProcess server(ServerProcess::DevArgs(), {{"DATABASE_URL", "none"}});
  auto alice = ConnectUser(server.port(), "alice");
  const json::object health = HttpGet(server.port(), "/health").Json().as_object();
  EXPECT_EQ(StringField(health, "database"), "off");
  alice->Close();
  EXPECT_FALSE(std::filesystem::exists(server.WorkingDir() + "/realtime.db"));
}

TEST_F(SqliteLastSeenTest, BadDatabaseUrlExitsTwoNamingTheVariableWithoutThePassword) {
  const ProcessResult r =
      RunProcess({ServerBinary(), "--dev"}, {{"DATABASE_URL", "mysql://u:hunter2@db/x"}});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("DATABASE_URL"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("hunter2"), std::string::npos) << r.output;
}

TEST_F(SqliteLastSeenTest, MigrateOnAnExplicitFileExitsZero) {
  char dir[] = "/tmp/rt-migrate-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/x.db";
  const ProcessResult r =
      RunProcess({ServerBinary(), "--migrate"}, {{"DATABASE_URL", "sqlite:" + path}});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(SqlitePresence(path).empty());  // the table exists (no rows)
  EXPECT_TRUE(std::filesystem::exists(path));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace realtime::testing
