#include "auth/access_rules.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config/config.hpp"

namespace realtime {
namespace {

using ::testing::HasSubstr;

Subject user(std::string id, std::string role, std::vector<std::string> grants = {}) {
  return Subject{std::move(id), std::move(role), std::move(grants)};
}

// Runs AccessRules::parse, expecting a ConfigError, and returns its message.
std::string parse_error(std::string_view json) {
  try {
    AccessRules::parse(json, "rules.json");
  } catch (const ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "parse accepted: " << json;
  return {};
}

// --- Pattern matching ---

TEST(AccessRulesMatchTest, LiteralSegmentsMatchExactly) {
  EXPECT_TRUE(AccessRules::matches("channel:42", "channel:42", "alice"));
  EXPECT_FALSE(AccessRules::matches("channel:42", "channel:43", "alice"));
  EXPECT_FALSE(AccessRules::matches("channel:42", "Channel:42", "alice"));
  EXPECT_TRUE(AccessRules::matches("news", "news", ""));
  EXPECT_FALSE(AccessRules::matches("news", "newsroom", ""));
}

TEST(AccessRulesMatchTest, StarMatchesExactlyOneSegment) {
  EXPECT_TRUE(AccessRules::matches("channel:*", "channel:42", "alice"));
  EXPECT_TRUE(AccessRules::matches("*:42", "channel:42", "alice"));
  EXPECT_TRUE(AccessRules::matches("a:*:c", "a:b:c", "alice"));
  EXPECT_FALSE(AccessRules::matches("channel:*", "channel", "alice"));
  EXPECT_FALSE(AccessRules::matches("channel:*", "channel:42:typing", "alice"));
  EXPECT_FALSE(AccessRules::matches("channel:*", "room:42", "alice"));
  EXPECT_FALSE(AccessRules::matches("a:*:c", "a:b:d", "alice"));
}

TEST(AccessRulesMatchTest, DoubleStarMatchesOneOrMoreTrailingSegments) {
  EXPECT_TRUE(AccessRules::matches("**", "x", "alice"));
  EXPECT_TRUE(AccessRules::matches("**", "x:y:z", "alice"));
  EXPECT_TRUE(AccessRules::matches("org:**", "org:1", "alice"));
  EXPECT_TRUE(AccessRules::matches("org:**", "org:1:team:2", "alice"));
  EXPECT_FALSE(AccessRules::matches("org:**", "org", "alice"));  // one or more, not zero
  EXPECT_FALSE(AccessRules::matches("org:**", "team:1", "alice"));
  EXPECT_TRUE(AccessRules::matches("org:*:**", "org:1:x", "alice"));
  EXPECT_FALSE(AccessRules::matches("org:*:**", "org:1", "alice"));
}

TEST(AccessRulesMatchTest, UserIdSegmentMustEqualTheSubjectsUserId) {
  EXPECT_TRUE(AccessRules::matches("user:{user_id}", "user:alice", "alice"));
  EXPECT_FALSE(AccessRules::matches("user:{user_id}", "user:bob", "alice"));
  EXPECT_FALSE(AccessRules::matches("user:{user_id}", "user:alice2", "alice"));
  EXPECT_FALSE(AccessRules::matches("user:{user_id}", "user:ali", "alice"));
  // The placeholder is a whole segment, not a literal and not a wildcard.
  EXPECT_FALSE(AccessRules::matches("user:{user_id}", "user:{user_id}", "alice"));
  EXPECT_TRUE(AccessRules::matches("{user_id}:inbox", "alice:inbox", "alice"));
  EXPECT_TRUE(AccessRules::matches("user:{user_id}:**", "user:alice:dm:bob", "alice"));
  EXPECT_FALSE(AccessRules::matches("user:{user_id}:**", "user:bob:dm:alice", "alice"));
}

TEST(AccessRulesMatchTest, UserIdSegmentNeverMatchesWithoutAUserId) {
  EXPECT_FALSE(AccessRules::matches("user:{user_id}", "user:", ""));
  EXPECT_FALSE(AccessRules::matches("user:{user_id}", "user:alice", ""));
}

TEST(AccessRulesMatchTest, UserIdContainingTheSeparatorDoesNotMatchAcrossSegments) {
  EXPECT_FALSE(AccessRules::matches("user:{user_id}", "user:a:b", "a:b"));
  EXPECT_FALSE(AccessRules::matches("user:{user_id}", "user:a", "a:b"));
}

TEST(AccessRulesMatchTest, SegmentCountMismatchesDoNotMatch) {
  EXPECT_FALSE(AccessRules::matches("a:b", "a", ""));
  EXPECT_FALSE(AccessRules::matches("a", "a:b", ""));
  EXPECT_FALSE(AccessRules::matches("a:b:c", "a:b", ""));
  EXPECT_FALSE(AccessRules::matches("*", "a:b", ""));
  EXPECT_FALSE(AccessRules::matches("*:*", "a", ""));
  EXPECT_TRUE(AccessRules::matches("*:*", "a:b", ""));
}

// --- Built-in default rules ---

class AccessRulesDefaultsTest : public ::testing::Test {
 protected:
  const AccessRules rules_ = AccessRules::defaults();
};

TEST_F(AccessRulesDefaultsTest, AreTheDocumentedThreeRulesInOrder) {
  ASSERT_EQ(rules_.rules().size(), 3u);
  EXPECT_EQ(rules_.rules()[0].match, "user:{user_id}");
  EXPECT_EQ(rules_.rules()[1].match, "channel:*");
  EXPECT_EQ(rules_.rules()[2].match, "**");
}

TEST_F(AccessRulesDefaultsTest, UserTopicIsOpenToItsOwnerWithAnyRole) {
  for (const char* role : {"user", "admin", "editor", "anonymous"}) {
    SCOPED_TRACE(role);
    EXPECT_TRUE(rules_.allowed(TopicAction::subscribe, "user:alice", user("alice", role)));
    EXPECT_TRUE(rules_.allowed(TopicAction::presence, "user:alice", user("alice", role)));
  }
}

TEST_F(AccessRulesDefaultsTest, UserTopicIsClosedToOtherUsers) {
  EXPECT_FALSE(rules_.allowed(TopicAction::subscribe, "user:alice", user("bob", "user")));
  EXPECT_FALSE(rules_.allowed(TopicAction::presence, "user:alice", user("bob", "user")));
  EXPECT_FALSE(rules_.allowed(TopicAction::publish, "user:alice", user("bob", "user")));
  EXPECT_FALSE(rules_.allowed(TopicAction::typing, "user:alice", user("bob", "user")));
}

TEST_F(AccessRulesDefaultsTest, UserTopicOfAnotherUserFallsThroughToTheAdminOnlyRule) {
  // user:{user_id} does not match for bob, so `**` decides: admin only.
  EXPECT_TRUE(rules_.allowed(TopicAction::subscribe, "user:alice", user("bob", "admin")));
  EXPECT_TRUE(rules_.allowed(TopicAction::presence, "user:alice", user("bob", "admin")));
}

TEST_F(AccessRulesDefaultsTest, UserTopicAllowsNoPublishOrTypingEvenToItsOwner) {
  // The first rule matches and lists neither publish nor typing, so it denies.
  EXPECT_FALSE(rules_.allowed(TopicAction::publish, "user:alice", user("alice", "user")));
  EXPECT_FALSE(rules_.allowed(TopicAction::typing, "user:alice", user("alice", "user")));
  EXPECT_FALSE(rules_.allowed(TopicAction::publish, "user:alice", user("alice", "admin")));
}

TEST_F(AccessRulesDefaultsTest, ChannelSubscribeIsForUsersAndAdmins) {
  EXPECT_TRUE(rules_.allowed(TopicAction::subscribe, "channel:42", user("alice", "user")));
  EXPECT_TRUE(rules_.allowed(TopicAction::subscribe, "channel:42", user("alice", "admin")));
  EXPECT_FALSE(rules_.allowed(TopicAction::subscribe, "channel:42", user("alice", "anonymous")));
  EXPECT_FALSE(rules_.allowed(TopicAction::subscribe, "channel:42", user("alice", "")));
}

TEST_F(AccessRulesDefaultsTest, ChannelPublishIsForAdminsOnly) {
  EXPECT_TRUE(rules_.allowed(TopicAction::publish, "channel:42", user("alice", "admin")));
  EXPECT_FALSE(rules_.allowed(TopicAction::publish, "channel:42", user("alice", "user")));
  EXPECT_FALSE(rules_.allowed(TopicAction::publish, "channel:42", user("alice", "anonymous")));
}

TEST_F(AccessRulesDefaultsTest, ChannelTypingIsForUsersAndAdmins) {
  EXPECT_TRUE(rules_.allowed(TopicAction::typing, "channel:42", user("alice", "user")));
  EXPECT_TRUE(rules_.allowed(TopicAction::typing, "channel:42", user("alice", "admin")));
  EXPECT_FALSE(rules_.allowed(TopicAction::typing, "channel:42", user("alice", "anonymous")));
}

TEST_F(AccessRulesDefaultsTest, ChannelPresenceIsForUsersAndAdmins) {
  EXPECT_TRUE(rules_.allowed(TopicAction::presence, "channel:42", user("alice", "user")));
  EXPECT_TRUE(rules_.allowed(TopicAction::presence, "channel:42", user("alice", "admin")));
  EXPECT_FALSE(rules_.allowed(TopicAction::presence, "channel:42", user("alice", "anonymous")));
}

TEST_F(AccessRulesDefaultsTest, DeeperChannelTopicsAreNotChannelTopics) {
  // channel:* is exactly two segments; channel:42:secret falls to `**` (admin only).
  EXPECT_FALSE(rules_.allowed(TopicAction::subscribe, "channel:42:secret", user("alice", "user")));
  EXPECT_TRUE(rules_.allowed(TopicAction::subscribe, "channel:42:secret", user("alice", "admin")));
}

TEST_F(AccessRulesDefaultsTest, EverythingElseIsForAdminsOnly) {
  for (const char* topic : {"orders", "orders:7", "team:1:chat", "channel"}) {
    SCOPED_TRACE(topic);
    EXPECT_TRUE(rules_.allowed(TopicAction::subscribe, topic, user("alice", "admin")));
    EXPECT_TRUE(rules_.allowed(TopicAction::publish, topic, user("alice", "admin")));
    EXPECT_TRUE(rules_.allowed(TopicAction::presence, topic, user("alice", "admin")));
    EXPECT_FALSE(rules_.allowed(TopicAction::subscribe, topic, user("alice", "user")));
    EXPECT_FALSE(rules_.allowed(TopicAction::publish, topic, user("alice", "user")));
    EXPECT_FALSE(rules_.allowed(TopicAction::presence, topic, user("alice", "user")));
  }
}

TEST_F(AccessRulesDefaultsTest, FallbackRuleGrantsTypingToAdminsOnly) {
  EXPECT_TRUE(rules_.allowed(TopicAction::typing, "orders:7", user("alice", "admin")));
  EXPECT_FALSE(rules_.allowed(TopicAction::typing, "orders:7", user("alice", "user")));
}

// --- Custom rules: no match, order, "*" role, grants ---

TEST(AccessRulesTest, NoMatchingRuleDenies) {
  const auto rules = AccessRules::parse(R"({"topics": [
    {"match": "public:*", "subscribe": ["*"], "publish": ["*"], "typing": ["*"], "presence": ["*"]}
  ]})");
  EXPECT_TRUE(rules.allowed(TopicAction::subscribe, "public:lobby", user("alice", "user")));
  for (auto action :
       {TopicAction::subscribe, TopicAction::publish, TopicAction::typing, TopicAction::presence}) {
    EXPECT_FALSE(rules.allowed(action, "private:lobby", user("alice", "admin")));
    EXPECT_FALSE(rules.allowed(action, "public", user("alice", "admin")));
    EXPECT_FALSE(rules.allowed(action, "public:lobby:x", user("alice", "admin")));
  }
}

TEST(AccessRulesTest, EmptyRuleListDeniesEverything) {
  const auto rules = AccessRules::parse(R"({"topics": []})");
  EXPECT_TRUE(rules.rules().empty());
  EXPECT_FALSE(rules.allowed(TopicAction::subscribe, "anything", user("alice", "admin")));
}

TEST(AccessRulesTest, FirstMatchingRuleDecidesEvenWhenALaterOneWouldAllow) {
  const auto deny_first = AccessRules::parse(R"({"topics": [
    {"match": "room:secret", "subscribe": ["admin"]},
    {"match": "room:*", "subscribe": ["*"]}
  ]})");
  EXPECT_FALSE(deny_first.allowed(TopicAction::subscribe, "room:secret", user("alice", "user")));
  EXPECT_TRUE(deny_first.allowed(TopicAction::subscribe, "room:secret", user("alice", "admin")));
  EXPECT_TRUE(deny_first.allowed(TopicAction::subscribe, "room:lobby", user("alice", "user")));

  // The same two rules the other way round: the broad rule now shadows the narrow one.
  const auto allow_first = AccessRules::parse(R"({"topics": [
    {"match": "room:*", "subscribe": ["*"]},
    {"match": "room:secret", "subscribe": ["admin"]}
  ]})");
  EXPECT_TRUE(allow_first.allowed(TopicAction::subscribe, "room:secret", user("alice", "user")));
}

TEST(AccessRulesTest, FirstMatchingRuleDecidesEvenWhenItListsNoRolesForTheAction) {
  const auto rules = AccessRules::parse(R"({"topics": [
    {"match": "room:*", "subscribe": ["*"]},
    {"match": "**", "publish": ["*"]}
  ]})");
  // room:* matches and has no publish list: denied, the `**` rule is never consulted.
  EXPECT_FALSE(rules.allowed(TopicAction::publish, "room:1", user("alice", "user")));
  EXPECT_TRUE(rules.allowed(TopicAction::publish, "other", user("alice", "user")));
}

TEST(AccessRulesTest, StarRoleMeansAnyRole) {
  const auto rules = AccessRules::parse(R"({"topics": [
    {"match": "lobby", "subscribe": ["*"], "publish": ["editor"]}
  ]})");
  for (const char* role : {"user", "admin", "editor", "some-custom-role"}) {
    SCOPED_TRACE(role);
    EXPECT_TRUE(rules.allowed(TopicAction::subscribe, "lobby", user("alice", role)));
  }
  EXPECT_TRUE(rules.allowed(TopicAction::publish, "lobby", user("alice", "editor")));
  EXPECT_FALSE(rules.allowed(TopicAction::publish, "lobby", user("alice", "user")));
}

TEST(AccessRulesTest, RoleNamesAreMatchedExactly) {
  const auto rules = AccessRules::parse(R"({"topics": [{"match": "x", "subscribe": ["admin"]}]})");
  EXPECT_FALSE(rules.allowed(TopicAction::subscribe, "x", user("alice", "Admin")));
  EXPECT_FALSE(rules.allowed(TopicAction::subscribe, "x", user("alice", "admins")));
  EXPECT_FALSE(rules.allowed(TopicAction::subscribe, "x", user("alice", "*")));
}

TEST(AccessRulesTest, UserIdRuleInCustomRules) {
  const auto rules = AccessRules::parse(R"({"topics": [
    {"match": "inbox:{user_id}:*", "subscribe": ["user"], "publish": ["user"]}
  ]})");
  EXPECT_TRUE(rules.allowed(TopicAction::publish, "inbox:alice:draft", user("alice", "user")));
  EXPECT_FALSE(rules.allowed(TopicAction::publish, "inbox:alice:draft", user("bob", "user")));
  EXPECT_FALSE(rules.allowed(TopicAction::publish, "inbox:alice:draft", user("", "user")));
}

TEST(AccessRulesTest, GrantsAllowEveryActionOnMatchingTopics) {
  const auto rules = AccessRules::defaults();
  const Subject service = user("svc", "user", {"orders:*", "reports:**"});
  for (auto action :
       {TopicAction::subscribe, TopicAction::publish, TopicAction::typing, TopicAction::presence}) {
    EXPECT_TRUE(rules.allowed(action, "orders:7", service));
    EXPECT_TRUE(rules.allowed(action, "reports:2024:q1", service));
    // Not granted and not allowed by the rules for role "user".
    EXPECT_FALSE(rules.allowed(action, "orders:7:items", service));
    EXPECT_FALSE(rules.allowed(action, "invoices:7", service));
  }
  // Without the grants the same subject is denied.
  EXPECT_FALSE(rules.allowed(TopicAction::subscribe, "orders:7", user("svc", "user")));
}

TEST(AccessRulesTest, GrantsBypassRulesThatWouldDeny) {
  // channel:* allows publish to admins only; the grant overrides that for this subject.
  const auto rules = AccessRules::defaults();
  EXPECT_FALSE(rules.allowed(TopicAction::publish, "channel:42", user("alice", "user")));
  EXPECT_TRUE(
      rules.allowed(TopicAction::publish, "channel:42", user("alice", "user", {"channel:42"})));
  EXPECT_FALSE(
      rules.allowed(TopicAction::publish, "channel:43", user("alice", "user", {"channel:42"})));
}

TEST(AccessRulesTest, GrantsWorkWithNoMatchingRule) {
  const auto rules = AccessRules::parse(R"({"topics": []})");
  EXPECT_TRUE(rules.allowed(TopicAction::subscribe, "a:b", user("alice", "", {"a:*"})));
  EXPECT_FALSE(rules.allowed(TopicAction::subscribe, "b:a", user("alice", "", {"a:*"})));
}

TEST(AccessRulesTest, GrantsMayUseTheUserIdPlaceholder) {
  const auto rules = AccessRules::parse(R"({"topics": []})");
  const Subject alice = user("alice", "user", {"private:{user_id}:**"});
  EXPECT_TRUE(rules.allowed(TopicAction::publish, "private:alice:notes", alice));
  EXPECT_TRUE(rules.allowed(TopicAction::subscribe, "private:alice:a:b", alice));
  EXPECT_FALSE(rules.allowed(TopicAction::subscribe, "private:bob:notes", alice));
  EXPECT_FALSE(rules.allowed(TopicAction::subscribe, "private:alice", alice));
}

// --- Parse ---

TEST(AccessRulesParseTest, ReadsEveryActionList) {
  const auto rules = AccessRules::parse(R"({"topics": [
    {"match": "a:*", "subscribe": ["s1", "s2"], "publish": ["p"], "typing": ["t"],
     "presence": ["r"]},
    {"match": "**"}
  ]})");
  ASSERT_EQ(rules.rules().size(), 2u);
  const auto& first = rules.rules()[0];
  EXPECT_EQ(first.match, "a:*");
  EXPECT_EQ(first.subscribe.roles, (std::vector<std::string>{"s1", "s2"}));
  EXPECT_EQ(first.publish.roles, (std::vector<std::string>{"p"}));
  EXPECT_EQ(first.typing.roles, (std::vector<std::string>{"t"}));
  EXPECT_EQ(first.presence.roles, (std::vector<std::string>{"r"}));
  const auto& second = rules.rules()[1];
  EXPECT_EQ(second.match, "**");
  EXPECT_TRUE(second.subscribe.roles.empty());
  EXPECT_TRUE(second.publish.roles.empty());
  // A rule with no lists matches and denies everything.
  EXPECT_FALSE(rules.allowed(TopicAction::subscribe, "z", user("alice", "admin")));
}

TEST(AccessRulesParseTest, RejectsInvalidJson) {
  const std::string message = parse_error(R"({"topics": [)");
  EXPECT_THAT(message, HasSubstr("rules.json"));
  EXPECT_THAT(message, HasSubstr("not valid JSON"));
  EXPECT_THAT(parse_error("topics"), HasSubstr("not valid JSON"));
  EXPECT_THAT(parse_error(""), HasSubstr("not valid JSON"));
}

TEST(AccessRulesParseTest, NamesTheSourceInMessages) {
  try {
    AccessRules::parse("{}", "/etc/realtime/rules.json");
    FAIL() << "parse accepted {}";
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(), HasSubstr("/etc/realtime/rules.json"));
  }
}

TEST(AccessRulesParseTest, RejectsMissingOrNonArrayTopics) {
  EXPECT_THAT(parse_error("{}"), HasSubstr("\"topics\""));
  EXPECT_THAT(parse_error(R"({"rules": []})"), HasSubstr("\"topics\""));
  EXPECT_THAT(parse_error(R"({"topics": {"match": "**"}})"), HasSubstr("\"topics\""));
  EXPECT_THAT(parse_error(R"({"topics": "**"})"), HasSubstr("\"topics\""));
  EXPECT_THAT(parse_error(R"([{"match": "**"}])"), HasSubstr("\"topics\""));
}

TEST(AccessRulesParseTest, RejectsARuleThatIsNotAnObject) {
  const std::string message = parse_error(R"({"topics": [{"match": "a"}, "b"]})");
  EXPECT_THAT(message, HasSubstr("topics[1]"));
  EXPECT_THAT(message, HasSubstr("must be an object"));
  EXPECT_THAT(parse_error(R"({"topics": [["a"]]})"), HasSubstr("topics[0] must be an object"));
}

TEST(AccessRulesParseTest, RejectsMissingMatch) {
  const std::string message = parse_error(R"({"topics": [{"subscribe": ["*"]}]})");
  EXPECT_THAT(message, HasSubstr("topics[0]"));
  EXPECT_THAT(message, HasSubstr("\"match\""));
  EXPECT_THAT(parse_error(R"({"topics": [{"match": 42}]})"), HasSubstr("\"match\""));
  EXPECT_THAT(parse_error(R"({"topics": [{"match": null}]})"), HasSubstr("\"match\""));
}

TEST(AccessRulesParseTest, RejectsEmptyMatch) {
  const std::string message = parse_error(R"({"topics": [{"match": ""}]})");
  EXPECT_THAT(message, HasSubstr("\"match\""));
  EXPECT_THAT(message, HasSubstr("empty"));
}

TEST(AccessRulesParseTest, RejectsEmptySegments) {
  EXPECT_THAT(parse_error(R"({"topics": [{"match": "a::b"}]})"), HasSubstr("empty segment"));
  EXPECT_THAT(parse_error(R"({"topics": [{"match": "a:"}]})"), HasSubstr("empty segment"));
  EXPECT_THAT(parse_error(R"({"topics": [{"match": ":a"}]})"), HasSubstr("empty segment"));
}

TEST(AccessRulesParseTest, RejectsDoubleStarThatIsNotLast) {
  const std::string message = parse_error(R"({"topics": [{"match": "a:**:b"}]})");
  EXPECT_THAT(message, HasSubstr("a:**:b"));
  EXPECT_THAT(message, HasSubstr("last segment"));
  EXPECT_THAT(parse_error(R"({"topics": [{"match": "**:x"}]})"), HasSubstr("last segment"));
}

TEST(AccessRulesParseTest, RejectsUnknownKeys) {
  const std::string message =
      parse_error(R"({"topics": [{"match": "a", "subscribe": ["*"], "subscibe": ["*"]}]})");
  EXPECT_THAT(message, HasSubstr("unknown key \"subscibe\""));
  EXPECT_THAT(message, HasSubstr("topics[0]"));
  EXPECT_THAT(parse_error(R"({"topics": [{"match": "a", "read": ["*"]}]})"),
              HasSubstr("unknown key \"read\""));
}

TEST(AccessRulesParseTest, RejectsRolesThatAreNotAnArray) {
  const std::string message = parse_error(R"({"topics": [{"match": "a", "subscribe": "admin"}]})");
  EXPECT_THAT(message, HasSubstr("\"subscribe\""));
  EXPECT_THAT(message, HasSubstr("array"));
  EXPECT_THAT(parse_error(R"({"topics": [{"match": "a", "publish": null}]})"),
              HasSubstr("\"publish\""));
  // An object is the {roles, check} form: other keys are named.
  EXPECT_THAT(parse_error(R"({"topics": [{"match": "a", "typing": {"admin": true}}]})"),
              HasSubstr("\"typing.admin\""));
}

TEST(AccessRulesParseTest, RejectsRolesThatAreNotNonEmptyStrings) {
  EXPECT_THAT(parse_error(R"({"topics": [{"match": "a", "presence": [""]}]})"),
              HasSubstr("\"presence\""));
  EXPECT_THAT(parse_error(R"({"topics": [{"match": "a", "subscribe": ["user", 1]}]})"),
              HasSubstr("non-empty role names"));
  EXPECT_THAT(parse_error(R"({"topics": [{"match": "a", "subscribe": [null]}]})"),
              HasSubstr("non-empty role names"));
  EXPECT_THAT(parse_error(R"({"topics": [{"match": "a", "subscribe": [["admin"]]}]})"),
              HasSubstr("non-empty role names"));
}

TEST(AccessRulesParseTest, ReportsTheIndexOfTheBadRule) {
  EXPECT_THAT(parse_error(R"({"topics": [{"match": "a"}, {"match": "b"}, {"match": ""}]})"),
              HasSubstr("topics[2]"));
}

TEST(AccessRulesParseTest, PresenceEventsDefaultToOnAndARuleTurnsThemOff) {
  const AccessRules rules = AccessRules::parse(R"({"topics": [
    {"match": "feed:*", "subscribe": ["*"], "presence_events": false},
    {"match": "room:*", "subscribe": ["*"], "presence_events": true},
    {"match": "user:{user_id}", "subscribe": ["*"]}
  ]})");
  EXPECT_FALSE(rules.rules()[0].presence_events);
  EXPECT_TRUE(rules.rules()[1].presence_events);
  EXPECT_TRUE(rules.rules()[2].presence_events);
  EXPECT_FALSE(rules.presence_events("feed:news"));
  EXPECT_TRUE(rules.presence_events("room:1"));
  // {user_id} matches whoever's topic it is: the decision is about the topic, not the asker.
  EXPECT_TRUE(rules.presence_events("user:alice"));
  // No rule matches: events as always (nobody can subscribe there anyway).
  EXPECT_TRUE(rules.presence_events("feed:a:b"));
  EXPECT_TRUE(AccessRules::defaults().presence_events("channel:1"));
}

TEST(AccessRulesParseTest, RejectsPresenceEventsThatAreNotABoolean) {
  for (const char* value : {"0", "\"false\"", "null", "[]"}) {
    const std::string message = parse_error(
        std::string(R"({"topics": [{"match": "feed:*", "presence_events": )") + value + "}]}");
    EXPECT_THAT(message, HasSubstr("\"presence_events\" must be true or false")) << value;
    EXPECT_THAT(message, HasSubstr("feed:*")) << value;
  }
  EXPECT_THAT(parse_error(R"({"topics": [{"match": "a", "presence_event": false}]})"),
              HasSubstr("presence_events"));
}

TEST(AccessRulesParseTest, DefaultRulesJsonParses) {
  EXPECT_NO_THROW(AccessRules::parse(default_rules_json));
}

}  // namespace
}  // namespace realtime

// ---------------------------------------------------------------------------------------------
// Captures and checks

namespace realtime {
namespace {

constexpr std::string_view kCheckedRules = R"json({"topics": [
  {"match": "channel:{channel_id}", "subscribe": {"roles": ["user"], "check": "member"},
   "typing": {"check": "member"}, "presence": {"check": "member"}, "publish": ["admin"]},
  {"match": "dm:{dm_id}", "subscribe": {"check": "dm_party"}},
  {"match": "org:{org}:team:{team}", "subscribe": {"check": "proxy"}}
 ],
 "checks": {
  "member": {"hasura": "query($channel_id: uuid!) { m(where: {channel_id: {_eq: $channel_id}}) { user_id } }", "ttl": 30},
  "dm_party": {"sql": "SELECT 1 FROM app_dms WHERE id = $dm_id AND $user_id IN (user_a, user_b)", "timeout": 0.5},
  "proxy": {"http": "http://backend:4000/realtime/authorize"}
 }})json";

TEST(AccessRulesCaptureTest, NamedSegmentsMatchOneSegmentAndAreCaptured) {
  CheckParams captures;
  EXPECT_TRUE(AccessRules::matches("org:{org}:team:{team}", "org:7:team:x", "u", &captures));
  EXPECT_EQ(captures, (CheckParams{{"org", "7"}, {"team", "x"}}));
  EXPECT_FALSE(AccessRules::matches("org:{org}", "org:7:team", "u"));
  EXPECT_FALSE(AccessRules::matches("org:{org}", "org", "u"));
}

TEST(AccessRulesCheckTest, ParsesChecksWithTheirTtlAndTimeout) {
  const auto rules = AccessRules::parse(kCheckedRules);
  ASSERT_EQ(rules.checks().size(), 3u);
  const CheckSpec* member = rules.find_check("member");
  ASSERT_NE(member, nullptr);
  EXPECT_EQ(member->kind, CheckSpec::Kind::hasura);
  EXPECT_EQ(member->ttl, std::chrono::seconds(30));
  EXPECT_EQ(member->variables, (std::vector<std::string>{"channel_id"}));
  const CheckSpec* dm = rules.find_check("dm_party");
  ASSERT_NE(dm, nullptr);
  EXPECT_EQ(dm->timeout, std::chrono::milliseconds(500));
  EXPECT_EQ(dm->ttl, std::chrono::seconds(60));
  EXPECT_EQ(rules.find_check("proxy")->kind, CheckSpec::Kind::http);
  EXPECT_EQ(rules.rules_using("member"), (std::vector<std::string>{"channel:{channel_id}"}));
}

TEST(AccessRulesCheckTest, ARoleAndACheckBothDecide) {
  const auto rules = AccessRules::parse(kCheckedRules);
  const auto decision = rules.decide(TopicAction::subscribe, "channel:42", user("alice", "user"));
  ASSERT_EQ(decision.kind, AccessDecision::Kind::check);
  EXPECT_EQ(decision.check->name, "member");
  EXPECT_EQ(*find_param(decision.params, "channel_id"), "42");
  EXPECT_EQ(*find_param(decision.params, "user_id"), "alice");
  EXPECT_EQ(*find_param(decision.params, "role"), "user");
  EXPECT_EQ(*find_param(decision.params, "topic"), "channel:42");
  // The role is not listed: denied without asking.
  EXPECT_EQ(rules.decide(TopicAction::subscribe, "channel:42", user("g", "guest")).kind,
            AccessDecision::Kind::deny);
  // Publish has roles only.
  EXPECT_EQ(rules.decide(TopicAction::publish, "channel:42", user("a", "admin")).kind,
            AccessDecision::Kind::allow);
}

TEST(AccessRulesCheckTest, ACheckWithoutRolesLetsAnyRoleAsk) {
  const auto rules = AccessRules::parse(kCheckedRules);
  EXPECT_EQ(rules.decide(TopicAction::subscribe, "dm:9", user("alice", "whatever")).kind,
            AccessDecision::Kind::check);
  EXPECT_EQ(rules.decide(TopicAction::typing, "channel:1", user("alice", "guest")).kind,
            AccessDecision::Kind::check);
}

TEST(AccessRulesCheckTest, GrantsStillAllowWithoutACheck) {
  const auto rules = AccessRules::parse(kCheckedRules);
  EXPECT_EQ(rules.decide(TopicAction::subscribe, "dm:9", user("svc", "user", {"dm:*"})).kind,
            AccessDecision::Kind::allow);
}

TEST(AccessRulesCheckTest, UnknownCheckIsRefusedNamingTheRule) {
  const std::string message = parse_error(
      R"({"topics": [{"match": "channel:{id}", "subscribe": {"check": "nope"}}], "checks": {}})");
  EXPECT_THAT(message, HasSubstr("channel:{id}"));
  EXPECT_THAT(message, HasSubstr("unknown check \"nope\""));
}

TEST(AccessRulesCheckTest, CheckVariablesMustBeCapturedByEveryRuleUsingIt) {
  const std::string message = parse_error(R"({"topics": [
    {"match": "channel:*", "subscribe": {"check": "member"}}],
    "checks": {"member": {"sql": "SELECT 1 FROM m WHERE channel_id = $channel_id AND user_id = $user_id"}}})");
  EXPECT_THAT(message, HasSubstr("$channel_id"));
  EXPECT_THAT(message, HasSubstr("channel:*"));
}

TEST(AccessRulesCheckTest, BadCaptureNamesAreRefused) {
  EXPECT_THAT(parse_error(R"({"topics": [{"match": "channel:{9x}", "subscribe": ["user"]}]})"),
              HasSubstr("bad capture"));
  EXPECT_THAT(parse_error(R"({"topics": [{"match": "channel:{a-b}", "subscribe": ["user"]}]})"),
              HasSubstr("bad capture"));
  EXPECT_THAT(parse_error(R"({"topics": [{"match": "channel:x{id}", "subscribe": ["user"]}]})"),
              HasSubstr("bad capture"));
  EXPECT_THAT(parse_error(R"({"topics": [{"match": "a:{id}:{id}", "subscribe": ["user"]}]})"),
              HasSubstr("appears twice"));
  EXPECT_THAT(parse_error(R"({"topics": [{"match": "a:{role}", "subscribe": ["user"]}]})"),
              HasSubstr("reserved"));
}

TEST(AccessRulesCheckTest, BadChecksAreRefused) {
  EXPECT_THAT(parse_error(R"({"topics": [], "checks": {"c": {"sql": "x", "http": "http://a"}}})"),
              HasSubstr("exactly one"));
  EXPECT_THAT(parse_error(R"({"topics": [], "checks": {"c": {"http": "ftp://a"}}})"),
              HasSubstr("http:// or https://"));
  EXPECT_THAT(parse_error(R"({"topics": [], "checks": {"c": {"sql": "SELECT $1"}}})"),
              HasSubstr("named parameters"));
  EXPECT_THAT(parse_error(R"({"topics": [], "checks": {"c": {"sql": "x", "ttl": 0}}})"),
              HasSubstr("ttl"));
  EXPECT_THAT(parse_error(R"({"topics": [], "checks": {"c": {"sql": "x", "timeout": 100}}})"),
              HasSubstr("timeout"));
  EXPECT_THAT(parse_error(R"({"topics": [], "checks": {"c": {"sql": "x", "retries": 1}}})"),
              HasSubstr("unknown key"));
  EXPECT_THAT(parse_error(R"({"topics": [], "checks": []})"), HasSubstr("\"checks\""));
  EXPECT_THAT(parse_error(R"({"topics": [], "rules": []})"), HasSubstr("unknown key"));
  EXPECT_THAT(parse_error(R"({"topics": [{"match": "a", "subscribe": {}}]})"),
              HasSubstr("roles, a check, or both"));
}

TEST(AccessRulesCheckTest, TheDefaultsOpenChannelsToEveryUserAndSayWhich) {
  EXPECT_EQ(AccessRules::defaults().unchecked_open_rules(),
            (std::vector<std::string>{"channel:*"}));
  EXPECT_TRUE(AccessRules::parse(kCheckedRules).unchecked_open_rules().empty());
}

}  // namespace
}  // namespace realtime
