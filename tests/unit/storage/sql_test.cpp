#include "storage/sql.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "storage/embedded_migrations.hpp"

namespace realtime::storage {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const std::vector<PresenceRow> two_rows = {{"alice", PresenceStatus::offline, 0, 0},
                                           {"bob", PresenceStatus::dnd, 1764262800123, 2}};

TEST(UpsertStatementTest, PostgresIsOneMultiRowUpsertWithNumberedParameters) {
  const Statement s = upsert_statement(SqlDialect::postgres, "primary", two_rows);
  EXPECT_THAT(s.sql, HasSubstr("INSERT INTO np_realtime_presence (source_account_id, user_id, "
                               "status, last_seen_at, connections, updated_at) VALUES "));
  EXPECT_THAT(s.sql, HasSubstr("($1, $2, $3, $4::timestamptz, $5::integer, now()), "
                               "($1, $6, $7, $8::timestamptz, $9::integer, now())"));
  EXPECT_THAT(s.sql, HasSubstr("ON CONFLICT (source_account_id, user_id) DO UPDATE SET"));
  EXPECT_THAT(s.sql, HasSubstr("WHERE np_realtime_presence.last_seen_at <= excluded.last_seen_at"));
  EXPECT_EQ(s.params,
            (std::vector<std::string>{"primary", "alice", "offline", "1970-01-01T00:00:00.000Z",
                                      "0", "bob", "dnd", "2025-11-27T17:00:00.123Z", "2"}));
}

TEST(UpsertStatementTest, SqliteUsesItsPlaceholdersAndTextTimes) {
  const Statement s = upsert_statement(SqlDialect::sqlite, "app2", two_rows);
  EXPECT_THAT(s.sql, HasSubstr("(?1, ?2, ?3, ?4, ?5, strftime('%Y-%m-%dT%H:%M:%fZ','now')), "
                               "(?1, ?6, ?7, ?8, ?9, strftime("));
  EXPECT_THAT(s.sql, Not(HasSubstr("$")));
  EXPECT_EQ(s.params.front(), "app2");
  EXPECT_EQ(s.params.size(), 9u);
}

TEST(UpsertStatementTest, ParametersGrowFourPerRow) {
  std::vector<PresenceRow> rows;
  for (int i = 0; i < 1000; ++i) rows.push_back({"u" + std::to_string(i)});
  const Statement s = upsert_statement(SqlDialect::postgres, "primary", rows);
  EXPECT_EQ(s.params.size(), 4001u);
  EXPECT_THAT(s.sql, HasSubstr("$4001::integer"));
  EXPECT_THAT(s.sql, Not(HasSubstr("$4002")));
}

// One row: the text SQLite keeps prepared (built once per dialect), the values only in params.
TEST(UpsertStatementTest, OneRowIsTheSameReusableTextWhateverTheRow) {
  for (SqlDialect dialect : {SqlDialect::sqlite, SqlDialect::postgres}) {
    const Statement a = upsert_statement(dialect, "primary", {two_rows[0]});
    const Statement b = upsert_statement(dialect, "other", {two_rows[1]});
    EXPECT_TRUE(a.reuse);
    EXPECT_EQ(a.sql, b.sql);
    EXPECT_THAT(a.sql, HasSubstr(dialect == SqlDialect::sqlite ? "(?1, ?2, ?3, ?4, ?5, "
                                                               : "($1, $2, $3, $4::timestamptz, "
                                                                 "$5::integer, now())"));
    EXPECT_THAT(a.sql, Not(HasSubstr(dialect == SqlDialect::sqlite ? "?6" : "$6")));
    EXPECT_THAT(a.sql, HasSubstr("ON CONFLICT (source_account_id, user_id) DO UPDATE SET"));
    EXPECT_EQ(b.params,
              (std::vector<std::string>{"other", "bob", "dnd", "2025-11-27T17:00:00.123Z", "2"}));
  }
  EXPECT_FALSE(upsert_statement(SqlDialect::sqlite, "primary", two_rows).reuse);
}

TEST(SelectStatementTest, ListsEachUserAsAParameter) {
  const Statement pg = select_statement(SqlDialect::postgres, "primary", {"a", "b"});
  EXPECT_THAT(pg.sql, HasSubstr("source_account_id = $1 AND user_id IN ($2, $3)"));
  EXPECT_EQ(pg.params, (std::vector<std::string>{"primary", "a", "b"}));
  const Statement lite = select_statement(SqlDialect::sqlite, "primary", {"a"});
  EXPECT_THAT(lite.sql, HasSubstr("source_account_id = ?1 AND user_id IN (?2)"));
}

TEST(MigrationsTest, VersionsIncreaseAndCreateTheTableExactly) {
  for (SqlDialect d : {SqlDialect::postgres, SqlDialect::sqlite}) {
    const auto& list = migrations(d);
    ASSERT_FALSE(list.empty());
    for (std::size_t i = 0; i < list.size(); ++i) EXPECT_EQ(list[i].version, int(i) + 1);
    const std::string& create = list[0].statements.at(0);
    EXPECT_THAT(create, HasSubstr("source_account_id VARCHAR(128) NOT NULL DEFAULT 'primary'"));
    EXPECT_THAT(create, HasSubstr("user_id VARCHAR(255) NOT NULL"));
    EXPECT_THAT(create, HasSubstr("status VARCHAR(16) NOT NULL"));
    EXPECT_THAT(create, HasSubstr("connections INTEGER NOT NULL DEFAULT 0"));
    EXPECT_THAT(create, HasSubstr("PRIMARY KEY (source_account_id, user_id)"));
  }
  EXPECT_THAT(migrations(SqlDialect::postgres)[0].statements[0],
              HasSubstr("last_seen_at TIMESTAMPTZ NOT NULL"));
  EXPECT_THAT(migrations(SqlDialect::postgres)[0].statements[0],
              HasSubstr("updated_at TIMESTAMPTZ NOT NULL DEFAULT now()"));
}

TEST(SplitSqlTest, DropsCommentsSplitsStatementsAndNormalisesWhiteSpaceOutsideQuotes) {
  EXPECT_EQ(
      split_sql("-- a comment; with a semicolon\n"
                "CREATE TABLE t (\n    a   INT,  -- the first\n    b TEXT DEFAULT 'x;  --y'\n);\n"
                "\n  ;  DROP   TABLE u;\n-- trailing"),
      (std::vector<std::string>{"CREATE TABLE t (a INT, b TEXT DEFAULT 'x;  --y')",
                                "DROP TABLE u"}));
  EXPECT_EQ(split_sql("SELECT 'it''s; fine'"), std::vector<std::string>{"SELECT 'it''s; fine'"});
  EXPECT_TRUE(split_sql("-- nothing\n \n").empty());
}

// The server applies the migration files of the source tree, as they are now: the nself
// plugin's (Postgres) and their SQLite twins. Each has its .down.sql (nself's convention).
TEST(MigrationsTest, AreTheFilesOfTheSourceTreeEachWithADownFile) {
  namespace fs = std::filesystem;
  const std::pair<SqlDialect, std::string> dirs[] = {
      {SqlDialect::postgres, "nself/migrations"},
      {SqlDialect::sqlite, "src/storage/migrations/sqlite"}};
  for (const auto& [dialect, dir] : dirs) {
    std::map<std::string, std::string> on_disk;
    for (const auto& entry : fs::directory_iterator(std::string(REALTIME_SOURCE_DIR) + "/" + dir)) {
      const std::string name = entry.path().filename().string();
      if (!name.ends_with(".sql") || name.ends_with(".down.sql")) continue;
      std::ifstream in(entry.path());
      std::stringstream text;
      text << in.rdbuf();
      on_disk[name] = text.str();
      if (dialect == SqlDialect::postgres) {
        EXPECT_TRUE(fs::exists(entry.path().parent_path() /
                               (name.substr(0, name.size() - 4) + ".down.sql")))
            << name << " has no .down.sql";
      }
    }
    std::map<std::string, std::string> embedded;
    for (const auto& f : embedded_migrations(dialect)) embedded[std::string(f.file)] = f.text;
    EXPECT_EQ(embedded, on_disk) << dir << " (re-run the build: the files are compiled in)";
    // NNN_ names in order give versions 1, 2, 3...
    int expected = 1;
    for (const auto& [name, text] : on_disk) {
      EXPECT_EQ(std::stoi(name.substr(0, name.find('_'))), expected++) << name;
    }
    EXPECT_EQ(migrations(dialect).size(), on_disk.size());
  }
}

TEST(TimestampTest, FormatsUtcWithMilliseconds) {
  EXPECT_EQ(format_timestamp(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(format_timestamp(1764262800123), "2025-11-27T17:00:00.123Z");
  EXPECT_EQ(format_timestamp(951782400999), "2000-02-29T00:00:00.999Z");
}

TEST(TimestampTest, ParseIsTheInverseOfFormat) {
  for (std::int64_t ms : {std::int64_t{0}, std::int64_t{1764262800123}, std::int64_t{951782400999},
                          std::int64_t{4102444799999}}) {
    EXPECT_EQ(parse_timestamp(format_timestamp(ms)), ms);
  }
}

TEST(TimestampTest, ParseRefusesAnythingElse) {
  for (const char* bad :
       {"", "2025-11-27", "2025-11-27 17:00:00.123Z", "2025-11-27T17:00:00Z",
        "2025-13-01T00:00:00.000Z", "2025-02-30T00:00:00.000Z", "2025-11-27T24:00:00.000Z",
        "2025-11-27T17:00:00.12xZ", "2025-11-27T17:00:00.123+"}) {
    EXPECT_FALSE(parse_timestamp(bad)) << bad;
  }
}

}  // namespace
}  // namespace realtime::storage
