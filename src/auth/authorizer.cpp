#include "auth/authorizer.hpp"

#include <spdlog/spdlog.h>

namespace realtime {
namespace {

Authorization from_check(const CheckResult& result, std::chrono::seconds ttl) {
  switch (result.outcome) {
    case CheckOutcome::allow:
      return {Authorization::Outcome::allowed, {}, ttl};
    case CheckOutcome::deny:
      return {Authorization::Outcome::forbidden, result.message, {}};
    case CheckOutcome::unavailable:
      break;
  }
  return {Authorization::Outcome::unavailable, result.message, ttl};
}

}  // namespace

Authorizer::Authorizer(AccessRules rules, std::size_t cache_capacity)
    : rules_(std::make_shared<const AccessRules>(std::move(rules))), cache_(cache_capacity) {}

void Authorizer::set_runner(CheckSpec::Kind kind, CheckRunner* runner) {
  runners_[static_cast<std::size_t>(kind)] = runner;
}

std::shared_ptr<const AccessRules> Authorizer::rules() const {
  std::lock_guard lock(mutex_);
  return rules_;
}

void Authorizer::replace_rules(AccessRules rules) {
  auto fresh = std::make_shared<const AccessRules>(std::move(rules));
  std::lock_guard lock(mutex_);
  rules_ = std::move(fresh);
  cache_.clear();
}

void Authorizer::forget(std::string_view user_id, std::string_view topic) {
  std::lock_guard lock(mutex_);
  cache_.forget(user_id, topic);
}

Authorizer::Stats Authorizer::stats() const {
  return {checks_run_.load(), cache_hits_.load(), denied_.load(), unavailable_.load()};
}

std::optional<Authorization> Authorizer::authorize(TopicAction action, std::string_view topic,
                                                   const Subject& subject, Callback done) {
  std::unique_lock lock(mutex_);
  const std::shared_ptr<const AccessRules> rules = rules_;
  AccessDecision decision = rules->decide(action, topic, subject);
  if (decision.kind == AccessDecision::Kind::allow) {
    return Authorization{Authorization::Outcome::allowed, {}, {}};
  }
  if (decision.kind == AccessDecision::Kind::deny) {
    return Authorization{Authorization::Outcome::forbidden, {}, {}};
  }
  const CheckSpec& spec = *decision.check;
  std::string key = DecisionCache::key(subject.user_id, subject.role, topic, to_string(action));
  const auto ttl = spec.ttl;
  auto found = cache_.lookup(
      key, Clock::now(),
      [done = std::move(done), ttl](const CheckResult& r) { done(from_check(r, ttl)); });
  if (found.lookup == DecisionCache::Lookup::hit) {
    ++cache_hits_;
    // The waiter was not queued on a hit: answer now.
    return from_check(found.result, ttl);
  }
  if (found.lookup == DecisionCache::Lookup::joined) return std::nullopt;
  CheckRequest request{spec, std::move(decision.params), Subject{subject.user_id, subject.role, {}},
                       action, std::string(topic)};
  CheckRunner* runner = runners_[static_cast<std::size_t>(spec.kind)];
  lock.unlock();
  ++checks_run_;
  if (runner == nullptr) {
    on_answer(key, request,
              {CheckOutcome::unavailable, std::string(to_string(spec.kind)) + " checks are off"});
    return std::nullopt;
  }
  runner->run(request, [this, key = std::move(key), request](CheckResult result) {
    on_answer(key, request, std::move(result));
  });
  return std::nullopt;
}

void Authorizer::on_answer(const std::string& key, const CheckRequest& request,
                           CheckResult result) {
  if (result.outcome == CheckOutcome::deny) ++denied_;
  if (result.outcome == CheckOutcome::unavailable) {
    ++unavailable_;
    spdlog::debug("check {} for {} on {}: unavailable ({})", request.spec.name,
                  request.subject.user_id, request.topic, result.message);
  }
  std::vector<DecisionCache::Waiter> waiters;
  {
    std::lock_guard lock(mutex_);
    waiters = cache_.complete(key, result, request.spec.ttl, Clock::now());
  }
  for (auto& w : waiters) w(result);
}

}  // namespace realtime
