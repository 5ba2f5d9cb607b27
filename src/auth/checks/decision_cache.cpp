#include "auth/checks/decision_cache.hpp"

namespace realtime {

std::string DecisionCache::key(std::string_view user, std::string_view role,
                               std::string_view topic, std::string_view action) {
  // User ids and topics never hold a NUL (names are [A-Za-z0-9_.:@/-]): a safe separator, and
  // user + topic is a prefix that forget() can find.
  std::string k;
  k.reserve(user.size() + role.size() + topic.size() + action.size() + 3);
  k.append(user).append(1, '\0').append(topic).append(1, '\0').append(action).append(1, '\0');
  k.append(role);
  return k;
}

DecisionCache::LookupResult DecisionCache::lookup(const std::string& key, Clock::time_point now,
                                                  Waiter waiter) {
  if (auto it = entries_.find(key); it != entries_.end()) {
    if (it->second->expires > now) {
      lru_.splice(lru_.begin(), lru_, it->second);
      return {Lookup::hit, it->second->result};
    }
    erase(it->second);
  }
  auto [flight, started] = in_flight_.try_emplace(key);
  flight->second.waiters.push_back(std::move(waiter));
  return {started ? Lookup::start : Lookup::joined, {}};
}

std::vector<DecisionCache::Waiter> DecisionCache::complete(const std::string& key,
                                                           const CheckResult& result,
                                                           std::chrono::milliseconds allow_ttl,
                                                           Clock::time_point now) {
  std::vector<Waiter> waiters;
  bool forgotten = false;
  if (auto flight = in_flight_.find(key); flight != in_flight_.end()) {
    waiters = std::move(flight->second.waiters);
    forgotten = flight->second.forgotten;
    in_flight_.erase(flight);
  }
  if (result.outcome == CheckOutcome::unavailable || capacity_ == 0 || forgotten) return waiters;
  if (auto it = entries_.find(key); it != entries_.end()) erase(it->second);
  const auto ttl = result.outcome == CheckOutcome::allow ? allow_ttl : deny_ttl_;
  lru_.push_front(Entry{key, result, now + ttl});
  entries_.emplace(std::string_view(lru_.front().key), lru_.begin());
  while (entries_.size() > capacity_) erase(std::prev(lru_.end()));
  return waiters;
}

void DecisionCache::erase(std::list<Entry>::iterator it) {
  entries_.erase(std::string_view(it->key));
  lru_.erase(it);
}

void DecisionCache::forget(std::string_view user, std::string_view topic) {
  std::string prefix;
  prefix.append(user).append(1, '\0').append(topic).append(1, '\0');
  for (auto it = lru_.begin(); it != lru_.end();) {
    auto next = std::next(it);
    if (std::string_view(it->key).starts_with(prefix)) erase(it);
    it = next;
  }
  for (auto& [key, flight] : in_flight_) {
    if (std::string_view(key).starts_with(prefix)) flight.forgotten = true;
  }
}

void DecisionCache::clear() {
  entries_.clear();
  lru_.clear();
  for (auto& [key, flight] : in_flight_) flight.forgotten = true;
}

}  // namespace realtime
