#include "storage/database_url.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <stdexcept>

namespace realtime::storage {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string error_of(std::string_view value) {
  try {
    parse_database_url(value);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected " << value << " to be refused";
  return {};
}

TEST(DatabaseUrlTest, DefaultIsTheSqliteFileInTheWorkingDirectory) {
  const DatabaseUrl url;
  EXPECT_EQ(url.kind, DatabaseKind::sqlite);
  EXPECT_EQ(url.target, "./realtime.db");
  EXPECT_TRUE(url.defaulted);
  EXPECT_THAT(url.describe(), HasSubstr("DATABASE_URL is not set"));
}

TEST(DatabaseUrlTest, PostgresUriIsKeptWholeForLibpq) {
  for (const char* uri : {"postgres://u:p@db.example:5433/chat?sslmode=require",
                          "postgresql://localhost/chat", "postgres:///chat?host=/run/pg"}) {
    const DatabaseUrl url = parse_database_url(uri);
    EXPECT_EQ(url.kind, DatabaseKind::postgres) << uri;
    EXPECT_EQ(url.target, uri);
    EXPECT_FALSE(url.defaulted);
  }
}

TEST(DatabaseUrlTest, SqliteAcceptsBothPathForms) {
  EXPECT_EQ(parse_database_url("sqlite:./data/rt.db").target, "./data/rt.db");
  EXPECT_EQ(parse_database_url("sqlite:/var/lib/rt.db").target, "/var/lib/rt.db");
  EXPECT_EQ(parse_database_url("sqlite:///var/lib/rt.db").target, "/var/lib/rt.db");
  EXPECT_EQ(parse_database_url("sqlite:rt.db").kind, DatabaseKind::sqlite);
}

TEST(DatabaseUrlTest, NoneTurnsPersistenceOff) {
  const DatabaseUrl url = parse_database_url("none");
  EXPECT_EQ(url.kind, DatabaseKind::none);
  EXPECT_THAT(url.describe(), HasSubstr("off"));
}

TEST(DatabaseUrlTest, UnknownSchemesAreRefusedWithWhatIsAccepted) {
  for (const char* bad : {"mysql://localhost/db", "", "realtime.db", "NONE", "http://x"}) {
    EXPECT_THAT(error_of(bad), HasSubstr("sqlite:PATH")) << bad;
  }
}

TEST(DatabaseUrlTest, SqliteWithoutPathIsRefused) {
  EXPECT_THAT(error_of("sqlite:"), HasSubstr("no path"));
  EXPECT_THAT(error_of("sqlite://"), HasSubstr("no path"));
}

TEST(DatabaseUrlTest, PostgresUriThatLibpqCannotParseIsRefusedWithItsReason) {
  EXPECT_THAT(error_of("postgres://host/db?no_such_option=1"), HasSubstr("libpq"));
  EXPECT_THAT(error_of("postgres://[::1/db"), HasSubstr("libpq"));
}

TEST(DatabaseUrlTest, DescribeMasksThePassword) {
  const std::string shown =
      parse_database_url("postgres://alice:hunter2@db:5432/chat?sslmode=verify-full").describe();
  EXPECT_THAT(shown, Not(HasSubstr("hunter2")));
  EXPECT_THAT(shown, HasSubstr("alice:****@db:5432/chat?sslmode=verify-full"));

  const std::string param =
      parse_database_url("postgresql://db/chat?user=a&password=hunter2&sslmode=require").describe();
  EXPECT_THAT(param, Not(HasSubstr("hunter2")));
  EXPECT_THAT(param, HasSubstr("password=****&sslmode=require"));
}

// Found by database_url_fuzz: describe() ended the userinfo at the first '?', while libpq reads
// "e:hunter2t?ster2" as the password (user "alic").
TEST(DatabaseUrlTest, DescribeMasksAPasswordHoldingAQuestionMark) {
  const std::string shown =
      parse_database_url("postgres://alic:e:hunter2t?ster2@db:5432/chat?sslmode=verify-full")
          .describe();
  EXPECT_THAT(shown, Not(HasSubstr("hunter2")));
  EXPECT_EQ(shown, "postgres://alic:****@db:5432/chat?sslmode=verify-full");
}

// libpq decodes parameter names too: pass%77ord is password.
TEST(DatabaseUrlTest, DescribeMasksAPercentEncodedPasswordParameter) {
  const std::string shown =
      parse_database_url("postgresql://db/chat?pass%77ord=hunter2&sslmode=require").describe();
  EXPECT_THAT(shown, Not(HasSubstr("hunter2")));
  EXPECT_THAT(shown, HasSubstr("pass%77ord=****&sslmode=require"));
}

TEST(DatabaseUrlTest, DescribeLeavesAUserWithoutPasswordAlone) {
  EXPECT_EQ(parse_database_url("postgres://alice@db/chat").describe(), "postgres://alice@db/chat");
}

}  // namespace
}  // namespace realtime::storage
