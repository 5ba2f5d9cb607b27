#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "broker/broker.hpp"
#include "broker/history_types.hpp"

namespace realtime {

class AccessRules;

// The server's own events (presence, typing, lifecycle: `realtime.*`) describe the moment and are
// never stored; nor is an event meant for all but one connection.
bool is_storable(const PublishedEvent& event);

// Which topics keep history and how much: the first rule matching the topic decides (its
// "history", else the defaults). Thread-safe; the rules are replaced on SIGHUP.
class HistoryPolicy {
 public:
  HistoryPolicy(HistoryLimits defaults, std::shared_ptr<const AccessRules> rules);

  void replace_rules(std::shared_ptr<const AccessRules> rules);
  // nullopt: the topic keeps no history.
  std::optional<HistoryLimits> limits_for(std::string_view topic) const;
  // False when no rule and no default keeps any: publishing skips the lookup.
  bool any() const { return any_.load(std::memory_order_relaxed); }

 private:
  const HistoryLimits defaults_;
  std::atomic<std::shared_ptr<const AccessRules>> rules_;
  std::atomic<bool> any_{false};
};

// Whether a client at `since` gets everything it missed from `result`: same epoch, not from
// the future, and nothing between it and the history's oldest event was dropped, and the read
// returned every event up to the current offset.
bool can_recover(const StreamPosition& since, const HistoryResult& result);

// A fresh epoch: 16 hex digits, random.
std::string new_epoch();

}  // namespace realtime
