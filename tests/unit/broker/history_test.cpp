// Which topics keep history (rules and defaults), what may be stored, and when a client's
// position can be recovered.
#include "broker/history.hpp"

#include <gtest/gtest.h>

#include "auth/access_rules.hpp"
#include "config/config.hpp"

namespace realtime {
namespace {

using namespace std::chrono_literals;

std::shared_ptr<const AccessRules> rules(std::string_view json) {
  return std::make_shared<const AccessRules>(AccessRules::parse(json));
}

TEST(HistoryPolicyTest, TheFirstMatchingRuleDecidesAndUnsetFieldsTakeTheDefaults) {
  HistoryPolicy policy({0, 300s, 4096}, rules(R"({"topics":[
    {"match":"user:{user_id}","subscribe":["*"],"history":{"size":10}},
    {"match":"channel:quiet","subscribe":["*"],"history":false},
    {"match":"channel:*","subscribe":["*"],"history":{"size":100,"ttl":60,"bytes":2048}},
    {"match":"**","subscribe":["admin"]}]})"));
  EXPECT_TRUE(policy.any());
  EXPECT_EQ(policy.limits_for("user:u1"), (HistoryLimits{10, 300s, 4096}));  // any user's topic
  EXPECT_EQ(policy.limits_for("channel:7"), (HistoryLimits{100, 60s, 2048}));
  EXPECT_FALSE(policy.limits_for("channel:quiet"));
  EXPECT_FALSE(policy.limits_for("other:1"));  // its rule says nothing, the default is off
}

TEST(HistoryPolicyTest, TheDefaultAppliesWhereARuleSaysNothingAndARuleCanTurnItOff) {
  HistoryPolicy policy({50, 120s, 1 << 20}, rules(R"({"topics":[
    {"match":"feed:*","subscribe":["*"],"history":{"size":0}},
    {"match":"**","subscribe":["*"]}]})"));
  EXPECT_EQ(policy.limits_for("channel:1"), (HistoryLimits{50, 120s, 1 << 20}));
  EXPECT_FALSE(policy.limits_for("feed:1"));
}

TEST(HistoryPolicyTest, NothingKeepsHistoryByDefaultAndSighupRulesApply) {
  HistoryPolicy policy({}, std::make_shared<const AccessRules>(AccessRules::defaults()));
  EXPECT_FALSE(policy.any());
  EXPECT_FALSE(policy.limits_for("channel:1"));
  policy.replace_rules(rules(R"({"topics":[{"match":"channel:*","history":{"size":5}}]})"));
  EXPECT_TRUE(policy.any());
  EXPECT_EQ(policy.limits_for("channel:1")->size, 5u);
}

TEST(HistoryPolicyTest, ABadHistoryIsAConfigErrorNamingTheRule) {
  for (std::string_view bad : {R"({"size":-1})", R"({"size":100001})", R"({"ttl":0})",
                               R"({"bytes":10})", R"({"sise":5})", R"(true)", R"("100")"}) {
    const std::string json =
        R"({"topics":[{"match":"channel:*","history":)" + std::string(bad) + "}]}";
    try {
      AccessRules::parse(json);
      ADD_FAILURE() << "accepted " << bad;
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find("channel:*"), std::string::npos) << e.what();
    }
  }
}

TEST(HistoryTest, OnlyAppEventsForEveryoneAreStored) {
  EXPECT_TRUE(is_storable({"channel:1", "chat.message.created", "{}", {}}));
  EXPECT_FALSE(is_storable({"channel:1", "realtime.typing", "{}", {}}));
  EXPECT_FALSE(is_storable({"channel:1", "realtime.presence.changed", "{}", {}}));
  EXPECT_FALSE(is_storable({"channel:1", "m", "{}", "conn-1"}));
}

HistoryResult result(std::string epoch, std::uint64_t offset, std::uint64_t first_kept,
                     std::vector<std::uint64_t> events) {
  HistoryResult r;
  r.ok = true;
  r.epoch = std::move(epoch);
  r.offset = offset;
  r.first_kept = first_kept;
  for (auto o : events) {
    TopicFrame f;
    f.offset = o;
    r.events->push_back(std::move(f));
  }
  return r;
}

TEST(HistoryTest, RecoveryNeedsTheSameEpochAndEveryMissedEvent) {
  EXPECT_TRUE(can_recover({5, "e"}, result("e", 7, 3, {6, 7})));
  EXPECT_TRUE(can_recover({7, "e"}, result("e", 7, 8, {})));  // nothing missed, nothing kept
  EXPECT_TRUE(can_recover({0, "e"}, result("e", 2, 1, {1, 2})));
  EXPECT_FALSE(can_recover({5, "other"}, result("e", 7, 3, {6, 7})));
  EXPECT_FALSE(can_recover({1, "e"}, result("e", 7, 3, {3, 4, 5, 6, 7})));  // 2 is gone
  EXPECT_FALSE(can_recover({8, "e"}, result("e", 7, 3, {})));               // from the future
  EXPECT_FALSE(can_recover({5, "e"}, result("e", 7, 3, {6})));  // the read was cut short
  HistoryResult failed = result("e", 7, 3, {6, 7});
  failed.ok = false;
  EXPECT_FALSE(can_recover({5, "e"}, failed));
}

TEST(HistoryTest, EpochsAreSixteenHexDigitsAndDiffer) {
  const std::string a = new_epoch(), b = new_epoch();
  EXPECT_EQ(a.size(), 16u);
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(a, b);
}

}  // namespace
}  // namespace realtime
