// The SQLite backend against a real file: migrations, upserts, reads.
#include "storage/sqlite_database.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>

#include "storage/migrate.hpp"

namespace realtime::storage {
namespace {

Deadline soon() { return std::chrono::steady_clock::now() + std::chrono::seconds(30); }

class SqliteDatabaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/rt-sqlite-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    db_ = std::make_unique<SqliteDatabase>(dir_ + "/rt.db");
    ASSERT_FALSE(db_->open(soon()));
  }
  void TearDown() override {
    db_.reset();
    std::filesystem::remove_all(dir_);
  }

  Rows run(const Statement& s) {
    auto r = db_->run(s, soon());
    if (auto* e = std::get_if<DbError>(&r)) {
      ADD_FAILURE() << e->message;
      return {};
    }
    return std::get<Rows>(r);
  }

  Rows stored(const std::string& account = "primary") {
    return run(
        {"SELECT user_id, status, last_seen_at, connections FROM np_realtime_presence "
         "WHERE source_account_id = ?1 ORDER BY user_id",
         {account}});
  }

  std::string dir_;
  std::unique_ptr<SqliteDatabase> db_;
};

TEST_F(SqliteDatabaseTest, MigrateCreatesTheSchemaOnceAndRecordsTheVersion) {
  SqliteDatabase& db = *db_;
  auto first = migrate(db, soon());
  ASSERT_TRUE(std::holds_alternative<int>(first)) << std::get<DbError>(first).message;
  EXPECT_EQ(std::get<int>(first), static_cast<int>(migrations(SqlDialect::sqlite).size()));
  auto second = migrate(db, soon());
  ASSERT_TRUE(std::holds_alternative<int>(second));
  EXPECT_EQ(std::get<int>(second), 0);
  auto versions = db.run({"SELECT version FROM np_realtime_schema_migrations", {}}, soon());
  ASSERT_TRUE(std::holds_alternative<Rows>(versions));
  EXPECT_EQ(std::get<Rows>(versions), (Rows{{"1"}}));
}

class MigratedSqliteTest : public SqliteDatabaseTest {
 protected:
  void SetUp() override {
    SqliteDatabaseTest::SetUp();
    ASSERT_TRUE(std::holds_alternative<int>(migrate(*db_, soon())));
  }
};

TEST_F(MigratedSqliteTest, UpsertInsertsThenUpdatesOneRowPerUser) {
  run(upsert_statement(SqlDialect::sqlite, "primary",
                       {{"alice", PresenceStatus::online, 1764262800000, 2},
                        {"bob", PresenceStatus::away, 1764262800001, 1}}));
  run(upsert_statement(SqlDialect::sqlite, "primary",
                       {{"alice", PresenceStatus::offline, 1764262801000, 0}}));
  EXPECT_EQ(stored(), (Rows{{"alice", "offline", "2025-11-27T17:00:01.000Z", "0"},
                            {"bob", "away", "2025-11-27T17:00:00.001Z", "1"}}));
}

TEST_F(MigratedSqliteTest, AnOlderRowNeverOverwritesANewerOne) {
  run(upsert_statement(SqlDialect::sqlite, "primary",
                       {{"alice", PresenceStatus::offline, 1764262805000, 0}}));
  run(upsert_statement(SqlDialect::sqlite, "primary",
                       {{"alice", PresenceStatus::online, 1764262800000, 1}}));
  EXPECT_EQ(stored(), (Rows{{"alice", "offline", "2025-11-27T17:00:05.000Z", "0"}}));
}

TEST_F(MigratedSqliteTest, AccountsAreSeparate) {
  run(upsert_statement(SqlDialect::sqlite, "primary", {{"alice", PresenceStatus::online, 1, 1}}));
  run(upsert_statement(SqlDialect::sqlite, "app2", {{"alice", PresenceStatus::offline, 2, 0}}));
  EXPECT_EQ(stored("primary").size(), 1u);
  EXPECT_EQ(stored("app2").at(0).at(1), "offline");
}

TEST_F(MigratedSqliteTest, AThousandRowBatchIsOneStatement) {
  std::vector<PresenceRow> rows;
  for (int i = 0; i < 1000; ++i)
    rows.push_back({"u" + std::to_string(i), PresenceStatus::offline, i, 0});
  run(upsert_statement(SqlDialect::sqlite, "primary", rows));
  EXPECT_EQ(run({"SELECT count(*) FROM np_realtime_presence", {}}), (Rows{{"1000"}}));
}

TEST_F(MigratedSqliteTest, SelectReadsBackTheStoredRows) {
  run(upsert_statement(SqlDialect::sqlite, "primary",
                       {{"alice", PresenceStatus::offline, 1764262800123, 0}}));
  const Rows rows = run(select_statement(SqlDialect::sqlite, "primary", {"alice", "nobody"}));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0][0], "alice");
  EXPECT_EQ(parse_timestamp(rows[0][2]), 1764262800123);
}

TEST_F(MigratedSqliteTest, InterruptMakesEveryLaterCallFail) {
  db_->interrupt();
  auto r = db_->run({"SELECT 1", {}}, soon());
  EXPECT_TRUE(std::holds_alternative<DbError>(r));
}

TEST(SqliteOpenTest, UnopenablePathIsAnErrorNotACrash) {
  SqliteDatabase db("/nonexistent-dir/sub/rt.db");
  auto err = db.open(soon());
  ASSERT_TRUE(err);
  EXPECT_FALSE(err->data_error);
  EXPECT_FALSE(db.is_open());
}

TEST_F(MigratedSqliteTest, AReusedStatementRunsAgainWithNewParametersAndSurvivesAnError) {
  Statement insert{
      "INSERT INTO np_realtime_presence (user_id, status, last_seen_at) "
      "VALUES (?1, ?2, ?3)",
      {"alice", "online", "2026-11-27T20:00:00.000Z"},
      true};
  run(insert);
  insert.params = {"bob", "away", "2026-11-27T20:00:01.000Z"};
  run(insert);
  insert.params = {"alice", "dnd", "2026-11-27T20:00:02.000Z"};  // duplicate key
  auto refused = db_->run(insert, soon());
  ASSERT_TRUE(std::holds_alternative<DbError>(refused));
  EXPECT_TRUE(std::get<DbError>(refused).data_error);
  insert.params = {"carol", "online", "2026-11-27T20:00:03.000Z"};
  run(insert);  // the kept statement was reset after the error
  const Rows rows = stored();
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0][1], "online");
  EXPECT_EQ(rows[1][0], "bob");
  EXPECT_EQ(rows[2][0], "carol");
  // Closing finalizes kept statements (else sqlite3_close would refuse), and reopening works.
  db_->close();
  ASSERT_FALSE(db_->open(soon()));
  insert.params = {"dave", "online", "2026-11-27T20:00:04.000Z"};
  run(insert);  // prepared anew
}

}  // namespace
}  // namespace realtime::storage
