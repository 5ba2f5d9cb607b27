#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/typing_state.hpp"

namespace realtime {

class RedisBroker;

// Who is typing, cluster-wide, for the presence endpoint: `<prefix>typing:<topic>` is a sorted
// set of user -> deadline (ms). The timeouts themselves run on the typer's node
// (TypingTracker); this only mirrors starts and stops, and the deadline covers a node that dies
// mid-typing.
class RedisTypingDirectory {
 public:
  RedisTypingDirectory(RedisBroker& broker, std::chrono::seconds timeout)
      : broker_(broker), timeout_(timeout) {}

  void record(const std::vector<TypingChange>& changes);
  void typing_in(std::string_view topic, std::function<void(std::vector<std::string>)> done);

 private:
  RedisBroker& broker_;
  std::chrono::seconds timeout_;
};

}  // namespace realtime
