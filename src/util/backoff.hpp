#pragma once

#include <chrono>
#include <cstdint>
#include <functional>

namespace realtime {

// Retry delays: doubling from `initial` up to `cap`, each drawn uniformly from its upper half
// ("equal jitter"), so nodes that lost the database together don't retry in lockstep.
class Backoff {
 public:
  using Random = std::function<std::uint64_t()>;  // uniform over the full 64-bit range

  // Without `random`: a generator seeded from std::random_device.
  Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds cap, Random random = {});

  // The delay before the next attempt; each call after a failure grows it.
  std::chrono::milliseconds next();
  void reset() { attempt_ = 0; }
  int attempts() const { return attempt_; }

 private:
  std::chrono::milliseconds initial_;
  std::chrono::milliseconds cap_;
  Random random_;
  int attempt_ = 0;
};

}  // namespace realtime
