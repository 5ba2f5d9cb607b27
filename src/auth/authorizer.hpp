#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "auth/access_rules.hpp"
#include "auth/checks/check_runner.hpp"
#include "auth/checks/decision_cache.hpp"

namespace realtime {

struct Authorization {
  enum class Outcome { allowed, forbidden, unavailable };
  Outcome outcome = Outcome::forbidden;
  std::string message;  // why a check denied or could not answer
  // Decided by a check (allowed, or its backend could not say): a live subscription asks again
  // after this long. Zero when the rules alone decided.
  std::chrono::seconds recheck{0};

  bool allowed() const { return outcome == Outcome::allowed; }
};

// Decides who may do what on a topic: the rules first (pure, at once), then, for rules that name
// a check, the decision cache and the check's backend (asynchronous). Thread-safe; the rules can
// be replaced while it runs (SIGHUP).
class Authorizer {
 public:
  using Callback = std::function<void(Authorization)>;
  using Clock = DecisionCache::Clock;

  Authorizer(AccessRules rules, std::size_t cache_capacity);

  // Runners by kind; null = that kind of check cannot run (answers unavailable).
  void set_runner(CheckSpec::Kind kind, CheckRunner* runner);

  // The answer now when the rules or the cache can give it; otherwise nullopt, and `done` runs
  // later, once, on a runner's thread. `done` never runs when an answer is returned.
  std::optional<Authorization> authorize(TopicAction action, std::string_view topic,
                                         const Subject& subject, Callback done);

  // Forgets the cached decisions about `user` on `topic` (the backend took access away).
  void forget(std::string_view user_id, std::string_view topic);
  // SIGHUP: new rules and checks; every cached decision is dropped.
  void replace_rules(AccessRules rules);
  std::shared_ptr<const AccessRules> rules() const;

  struct Stats {
    std::uint64_t checks_run = 0;
    std::uint64_t cache_hits = 0;
    std::uint64_t denied = 0;
    std::uint64_t unavailable = 0;
  };
  Stats stats() const;

 private:
  void on_answer(const std::string& key, const CheckRequest& request, CheckResult result);

  mutable std::mutex mutex_;
  std::shared_ptr<const AccessRules> rules_;  // under mutex_
  DecisionCache cache_;                       // under mutex_
  std::array<CheckRunner*, 3> runners_{};
  std::atomic<std::uint64_t> checks_run_{0}, cache_hits_{0}, denied_{0}, unavailable_{0};
};

}  // namespace realtime
