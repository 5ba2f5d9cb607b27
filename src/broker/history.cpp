#include "broker/history.hpp"

#include <random>

#include "auth/access_rules.hpp"

namespace realtime {

bool is_storable(const PublishedEvent& event) {
  return event.exclude_connection.empty() && !event.event.starts_with("realtime.");
}

HistoryPolicy::HistoryPolicy(HistoryLimits defaults, std::shared_ptr<const AccessRules> rules)
    : defaults_(defaults) {
  replace_rules(std::move(rules));
}

void HistoryPolicy::replace_rules(std::shared_ptr<const AccessRules> rules) {
  any_.store(defaults_.enabled() || (rules && rules->any_history()), std::memory_order_relaxed);
  rules_.store(std::move(rules));
}

std::optional<HistoryLimits> HistoryPolicy::limits_for(std::string_view topic) const {
  if (!any()) return std::nullopt;
  HistoryLimits limits = defaults_;
  const auto rules = rules_.load();
  if (const AccessRules::Rule* rule = rules ? rules->rule_for(topic) : nullptr;
      rule != nullptr && rule->history) {
    const auto& spec = *rule->history;
    if (spec.size) limits.size = *spec.size;
    if (spec.ttl) limits.ttl = *spec.ttl;
    if (spec.bytes) limits.max_bytes = *spec.bytes;
  }
  if (!limits.enabled()) return std::nullopt;
  return limits;
}

bool can_recover(const StreamPosition& since, const HistoryResult& result) {
  if (!result.ok || since.epoch != result.epoch || since.offset > result.offset) return false;
  if (since.offset == result.offset) return true;          // nothing missed
  if (since.offset + 1 < result.first_kept) return false;  // some of it is gone
  const auto& events = *result.events;
  // Every missed event, in order, starting right after `since`.
  if (events.size() != result.offset - since.offset) return false;
  return events.front().offset == since.offset + 1 && events.back().offset == result.offset;
}

std::string new_epoch() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char hex[] = "0123456789abcdef";
  std::uint64_t v = rng();
  std::string out(16, '0');
  for (auto& c : out) {
    c = hex[v & 0xf];
    v >>= 4;
  }
  return out;
}

}  // namespace realtime
