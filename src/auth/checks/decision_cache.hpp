#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace realtime {

// A check's answer. `unavailable`: the backend could not say (timeout, down, 5xx) — never cached
// and never a denial.
enum class CheckOutcome { allow, deny, unavailable };

struct CheckResult {
  CheckOutcome outcome = CheckOutcome::unavailable;
  std::string message;  // why, for logs and error frames
};

// Decisions of checks per (user, role, topic, action), in front of the backends: an allow is
// kept for the check's ttl, a denial for a short while, at most `capacity` entries (least
// recently used go first), and concurrent identical questions share one request (single
// flight). Pure and single-threaded: the Authorizer locks it. Time is passed in.
class DecisionCache {
 public:
  using Clock = std::chrono::steady_clock;
  using Waiter = std::function<void(const CheckResult&)>;

  static std::string key(std::string_view user, std::string_view role, std::string_view topic,
                         std::string_view action);

  explicit DecisionCache(std::size_t capacity,
                         std::chrono::milliseconds deny_ttl = std::chrono::seconds(5))
      : capacity_(capacity), deny_ttl_(deny_ttl) {}

  enum class Lookup {
    hit,     // `result` holds the cached decision
    joined,  // the same question is being asked: the waiter runs when it is answered
    start,   // the caller must ask and then call complete(); the waiter is queued
  };
  struct LookupResult {
    Lookup lookup;
    CheckResult result;  // hit only
  };
  LookupResult lookup(const std::string& key, Clock::time_point now, Waiter waiter);

  // Records the answer to a started question and returns its waiters (the caller runs them,
  // outside any lock). An allow is kept for `allow_ttl`.
  std::vector<Waiter> complete(const std::string& key, const CheckResult& result,
                               std::chrono::milliseconds allow_ttl, Clock::time_point now);

  // Forgets every decision about `user` on `topic` (any role, any action); answers to questions
  // already asked still reach their waiters but are not kept.
  void forget(std::string_view user, std::string_view topic);
  void clear();

  std::size_t size() const { return entries_.size(); }
  std::size_t in_flight() const { return in_flight_.size(); }

 private:
  struct Entry {
    std::string key;
    CheckResult result;
    Clock::time_point expires;
  };
  void erase(std::list<Entry>::iterator it);

  std::size_t capacity_;
  std::chrono::milliseconds deny_ttl_;
  std::list<Entry> lru_;  // most recently used first
  std::unordered_map<std::string_view, std::list<Entry>::iterator> entries_;  // keys live in lru_
  struct Flight {
    std::vector<Waiter> waiters;
    bool forgotten = false;
  };
  std::unordered_map<std::string, Flight> in_flight_;
};

}  // namespace realtime
