#include "auth/authorizer.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace realtime {
namespace {

// A runner that keeps every question until the test answers it.
class ScriptedRunner final : public CheckRunner {
 public:
  void run(CheckRequest request, Done done) override {
    asked.push_back(std::move(request));
    pending.push_back(std::move(done));
  }
  void answer_all(CheckOutcome outcome) {
    auto waiting = std::move(pending);
    pending.clear();
    for (auto& done : waiting) done({outcome, "scripted"});
  }
  std::vector<CheckRequest> asked;
  std::vector<Done> pending;
};

AccessRules checked_rules() {
  return AccessRules::parse(R"({"topics": [
    {"match": "channel:{channel_id}", "subscribe": {"roles": ["user"], "check": "member"}},
    {"match": "open:*", "subscribe": ["user"]}],
    "checks": {"member": {"sql": "SELECT 1 FROM m WHERE c = $channel_id AND u = $user_id", "ttl": 30}}})");
}

const Subject alice{"alice", "user", {}};

TEST(AuthorizerTest, RulesWithoutChecksAnswerAtOnce) {
  Authorizer authorizer(checked_rules(), 100);
  auto allowed = authorizer.authorize(TopicAction::subscribe, "open:1", alice,
                                      [](Authorization) { FAIL() << "called back"; });
  ASSERT_TRUE(allowed);
  EXPECT_TRUE(allowed->allowed());
  EXPECT_EQ(allowed->recheck.count(), 0);
  auto denied = authorizer.authorize(TopicAction::subscribe, "secret:1", alice, {});
  ASSERT_TRUE(denied);
  EXPECT_EQ(denied->outcome, Authorization::Outcome::forbidden);
}

TEST(AuthorizerTest, ACheckAnswersLaterAndIsThenCached) {
  ScriptedRunner runner;
  Authorizer authorizer(checked_rules(), 100);
  authorizer.set_runner(CheckSpec::Kind::sql, &runner);
  std::vector<Authorization> answers;
  auto first = authorizer.authorize(TopicAction::subscribe, "channel:7", alice,
                                    [&](Authorization a) { answers.push_back(a); });
  EXPECT_FALSE(first);
  ASSERT_EQ(runner.asked.size(), 1u);
  EXPECT_EQ(runner.asked[0].spec.name, "member");
  EXPECT_EQ(*find_param(runner.asked[0].params, "channel_id"), "7");
  runner.answer_all(CheckOutcome::allow);
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_TRUE(answers[0].allowed());
  EXPECT_EQ(answers[0].recheck, std::chrono::seconds(30));
  // Now from the cache, at once.
  auto again = authorizer.authorize(TopicAction::subscribe, "channel:7", alice, {});
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->allowed());
  EXPECT_EQ(runner.asked.size(), 1u);
  EXPECT_EQ(authorizer.stats().cache_hits, 1u);
}

TEST(AuthorizerTest, FiftyConcurrentIdenticalQuestionsMakeOneRequest) {
  ScriptedRunner runner;
  Authorizer authorizer(checked_rules(), 100);
  authorizer.set_runner(CheckSpec::Kind::sql, &runner);
  int allowed = 0;
  for (int i = 0; i < 50; ++i) {
    EXPECT_FALSE(authorizer.authorize(TopicAction::subscribe, "channel:7", alice,
                                      [&](Authorization a) { allowed += a.allowed() ? 1 : 0; }));
  }
  EXPECT_EQ(runner.asked.size(), 1u);
  runner.answer_all(CheckOutcome::allow);
  EXPECT_EQ(allowed, 50);
}

TEST(AuthorizerTest, UnavailableIsNotForbiddenAndIsAskedAgain) {
  ScriptedRunner runner;
  Authorizer authorizer(checked_rules(), 100);
  authorizer.set_runner(CheckSpec::Kind::sql, &runner);
  Authorization got;
  authorizer.authorize(TopicAction::subscribe, "channel:7", alice,
                       [&](Authorization a) { got = a; });
  runner.answer_all(CheckOutcome::unavailable);
  EXPECT_EQ(got.outcome, Authorization::Outcome::unavailable);
  EXPECT_FALSE(
      authorizer.authorize(TopicAction::subscribe, "channel:7", alice, [](Authorization) {}));
  EXPECT_EQ(runner.asked.size(), 2u);
}

TEST(AuthorizerTest, WithoutARunnerTheCheckIsUnavailable) {
  Authorizer authorizer(checked_rules(), 100);
  Authorization got;
  EXPECT_FALSE(authorizer.authorize(TopicAction::subscribe, "channel:7", alice,
                                    [&](Authorization a) { got = a; }));
  EXPECT_EQ(got.outcome, Authorization::Outcome::unavailable);
}

TEST(AuthorizerTest, ForgetAndReplaceRulesDropCachedDecisions) {
  ScriptedRunner runner;
  Authorizer authorizer(checked_rules(), 100);
  authorizer.set_runner(CheckSpec::Kind::sql, &runner);
  authorizer.authorize(TopicAction::subscribe, "channel:7", alice, [](Authorization) {});
  runner.answer_all(CheckOutcome::allow);
  authorizer.forget("alice", "channel:7");
  EXPECT_FALSE(
      authorizer.authorize(TopicAction::subscribe, "channel:7", alice, [](Authorization) {}));
  runner.answer_all(CheckOutcome::allow);
  authorizer.replace_rules(
      AccessRules::parse(R"({"topics": [{"match": "**", "subscribe": ["user"]}]})"));
  auto now_open = authorizer.authorize(TopicAction::subscribe, "channel:7", alice, {});
  ASSERT_TRUE(now_open);
  EXPECT_TRUE(now_open->allowed());
  EXPECT_EQ(now_open->recheck.count(), 0);
}

}  // namespace
}  // namespace realtime
