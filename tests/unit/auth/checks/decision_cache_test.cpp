#include "auth/checks/decision_cache.hpp"

#include <gtest/gtest.h>

namespace realtime {
namespace {

using Clock = DecisionCache::Clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

const Clock::time_point t0{};

std::string key(std::string_view user, std::string_view topic = "channel:1",
                std::string_view role = "user") {
  return DecisionCache::key(user, role, topic, "subscribe");
}

// Starts the question for `k` and answers it with `outcome`.
void answer(DecisionCache& cache, const std::string& k, CheckOutcome outcome,
            Clock::time_point now = t0, milliseconds ttl = seconds(60)) {
  ASSERT_EQ(cache.lookup(k, now, [](const CheckResult&) {}).lookup, DecisionCache::Lookup::start);
  cache.complete(k, {outcome, {}}, ttl, now);
}

TEST(DecisionCacheTest, FirstQuestionStartsAndTheAnswerIsKept) {
  DecisionCache cache(10);
  answer(cache, key("alice"), CheckOutcome::allow);
  auto hit = cache.lookup(key("alice"), t0 + seconds(59), {});
  EXPECT_EQ(hit.lookup, DecisionCache::Lookup::hit);
  EXPECT_EQ(hit.result.outcome, CheckOutcome::allow);
}

TEST(DecisionCacheTest, AllowExpiresAfterItsTtl) {
  DecisionCache cache(10);
  answer(cache, key("alice"), CheckOutcome::allow, t0, seconds(60));
  EXPECT_EQ(cache.lookup(key("alice"), t0 + seconds(60), [](const CheckResult&) {}).lookup,
            DecisionCache::Lookup::start);
}

TEST(DecisionCacheTest, DenyIsKeptOnlyForTheDenyTtl) {
  DecisionCache cache(10, seconds(5));
  answer(cache, key("bob"), CheckOutcome::deny, t0, seconds(60));
  EXPECT_EQ(cache.lookup(key("bob"), t0 + seconds(4), {}).result.outcome, CheckOutcome::deny);
  EXPECT_EQ(cache.lookup(key("bob"), t0 + seconds(5), [](const CheckResult&) {}).lookup,
            DecisionCache::Lookup::start);
}

TEST(DecisionCacheTest, UnavailableIsNeverKept) {
  DecisionCache cache(10);
  answer(cache, key("carol"), CheckOutcome::unavailable);
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_EQ(cache.lookup(key("carol"), t0, [](const CheckResult&) {}).lookup,
            DecisionCache::Lookup::start);
}

TEST(DecisionCacheTest, ConcurrentIdenticalQuestionsShareOneAnswer) {
  DecisionCache cache(10);
  int answered = 0;
  auto waiter = [&](const CheckResult& r) {
    EXPECT_EQ(r.outcome, CheckOutcome::allow);
    ++answered;
  };
  EXPECT_EQ(cache.lookup(key("dave"), t0, waiter).lookup, DecisionCache::Lookup::start);
  for (int i = 0; i < 49; ++i) {
    EXPECT_EQ(cache.lookup(key("dave"), t0, waiter).lookup, DecisionCache::Lookup::joined);
  }
  EXPECT_EQ(cache.in_flight(), 1u);
  auto waiters = cache.complete(key("dave"), {CheckOutcome::allow, {}}, seconds(60), t0);
  ASSERT_EQ(waiters.size(), 50u);
  for (auto& w : waiters) w({CheckOutcome::allow, {}});
  EXPECT_EQ(answered, 50);
  EXPECT_EQ(cache.in_flight(), 0u);
}

TEST(DecisionCacheTest, KeysDifferByUserRoleTopicAndAction) {
  EXPECT_NE(key("a", "t", "user"), key("a", "t", "admin"));
  EXPECT_NE(key("a", "t"), key("b", "t"));
  EXPECT_NE(key("a", "t1"), key("a", "t2"));
  EXPECT_NE(DecisionCache::key("a", "r", "t", "subscribe"),
            DecisionCache::key("a", "r", "t", "typing"));
}

TEST(DecisionCacheTest, LeastRecentlyUsedGoesFirstAtCapacity) {
  DecisionCache cache(2);
  answer(cache, key("a"), CheckOutcome::allow);
  answer(cache, key("b"), CheckOutcome::allow);
  cache.lookup(key("a"), t0, {});  // a is now the most recently used
  answer(cache, key("c"), CheckOutcome::allow);
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ(cache.lookup(key("a"), t0, {}).lookup, DecisionCache::Lookup::hit);
  EXPECT_EQ(cache.lookup(key("c"), t0, {}).lookup, DecisionCache::Lookup::hit);
  EXPECT_EQ(cache.lookup(key("b"), t0, [](const CheckResult&) {}).lookup,
            DecisionCache::Lookup::start);
}

TEST(DecisionCacheTest, ForgetDropsEveryRoleAndActionOfUserOnTopic) {
  DecisionCache cache(10);
  answer(cache, key("alice", "channel:1", "user"), CheckOutcome::allow);
  answer(cache, key("alice", "channel:1", "admin"), CheckOutcome::allow);
  answer(cache, DecisionCache::key("alice", "user", "channel:1", "typing"), CheckOutcome::allow);
  answer(cache, key("alice", "channel:10"), CheckOutcome::allow);
  answer(cache, key("alice2", "channel:1"), CheckOutcome::allow);
  cache.forget("alice", "channel:1");
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ(cache.lookup(key("alice", "channel:10"), t0, {}).lookup, DecisionCache::Lookup::hit);
  EXPECT_EQ(cache.lookup(key("alice2", "channel:1"), t0, {}).lookup, DecisionCache::Lookup::hit);
}

TEST(DecisionCacheTest, AnAnswerToAForgottenQuestionReachesItsWaitersButIsNotKept) {
  DecisionCache cache(10);
  int answered = 0;
  cache.lookup(key("eve"), t0, [&](const CheckResult&) { ++answered; });
  cache.forget("eve", "channel:1");  // access was taken away while the check ran
  auto waiters = cache.complete(key("eve"), {CheckOutcome::allow, {}}, seconds(60), t0);
  EXPECT_EQ(waiters.size(), 1u);
  EXPECT_EQ(cache.size(), 0u);
}

TEST(DecisionCacheTest, CapacityZeroKeepsNothingButStillSharesQuestions) {
  DecisionCache cache(0);
  EXPECT_EQ(cache.lookup(key("a"), t0, [](const CheckResult&) {}).lookup,
            DecisionCache::Lookup::start);
  EXPECT_EQ(cache.lookup(key("a"), t0, [](const CheckResult&) {}).lookup,
            DecisionCache::Lookup::joined);
  EXPECT_EQ(cache.complete(key("a"), {CheckOutcome::allow, {}}, seconds(60), t0).size(), 2u);
  EXPECT_EQ(cache.size(), 0u);
}

}  // namespace
}  // namespace realtime
