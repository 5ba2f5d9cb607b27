#include "auth/checks/check_spec.hpp"

#include <gtest/gtest.h>

namespace realtime {
namespace {

using storage::SqlDialect;

TEST(NamedParametersTest, FindsEachNameOnceInOrderOfFirstUse) {
  EXPECT_EQ(named_parameters("SELECT 1 FROM t WHERE id = $dm_id AND $user_id IN (a, b) AND "
                             "x = $dm_id"),
            (std::vector<std::string>{"dm_id", "user_id"}));
}

TEST(NamedParametersTest, SkipsQuotedStringsAndComments) {
  EXPECT_EQ(named_parameters("SELECT '$not' || \"$col\" FROM t -- $comment\n WHERE a = $real "
                             "/* $block */"),
            (std::vector<std::string>{"real"}));
}

TEST(NamedParametersTest, IgnoresPositionalAndLoneDollars) {
  EXPECT_TRUE(named_parameters("SELECT $1, $ , $$").empty());
}

TEST(NamedParametersTest, ReadsGraphQLVariables) {
  EXPECT_EQ(named_parameters("query($channel_id: uuid!) { m(where: {channel_id: {_eq: "
                             "$channel_id}}) { user_id } }"),
            (std::vector<std::string>{"channel_id"}));
}

TEST(PositionalSqlTest, NumbersNamesForEachDialect) {
  const std::string sql = "SELECT 1 FROM d WHERE id = $dm_id AND $user_id IN (a, b) OR id = $dm_id";
  const auto vars = named_parameters(sql);
  EXPECT_EQ(positional_sql(sql, vars, SqlDialect::postgres),
            "SELECT 1 FROM d WHERE id = $1 AND $2 IN (a, b) OR id = $1");
  EXPECT_EQ(positional_sql(sql, vars, SqlDialect::sqlite),
            "SELECT 1 FROM d WHERE id = ?1 AND ?2 IN (a, b) OR id = ?1");
}

TEST(PositionalSqlTest, LeavesQuotedTextAlone) {
  const std::string sql = "SELECT '$x' FROM t WHERE a = $x";
  EXPECT_EQ(positional_sql(sql, named_parameters(sql), SqlDialect::postgres),
            "SELECT '$x' FROM t WHERE a = $1");
}

TEST(ParamNameTest, AcceptsIdentifiersOnly) {
  EXPECT_TRUE(is_valid_param_name("channel_id"));
  EXPECT_TRUE(is_valid_param_name("_x9"));
  EXPECT_FALSE(is_valid_param_name(""));
  EXPECT_FALSE(is_valid_param_name("9x"));
  EXPECT_FALSE(is_valid_param_name("a-b"));
  EXPECT_FALSE(is_valid_param_name(std::string(64, 'a')));
}

TEST(FindParamTest, FindsByName) {
  const CheckParams params{{"a", "1"}, {"b", "2"}};
  ASSERT_NE(find_param(params, "b"), nullptr);
  EXPECT_EQ(*find_param(params, "b"), "2");
  EXPECT_EQ(find_param(params, "c"), nullptr);
}

}  // namespace
}  // namespace realtime
