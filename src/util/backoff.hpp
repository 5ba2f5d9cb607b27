#pragma once

#include <algorithm>
#include <chrono>
#include <random>

namespace realtime {

// Capped exponential backoff with full jitter: attempt n waits a uniform random time in
// [0, min(cap, base * 2^n)], so nodes that lost the same server don't return in lockstep.
class Backoff {
 public:
  Backoff(std::chrono::milliseconds base, std::chrono::milliseconds cap)
      : base_(base), cap_(cap), rng_(std::random_device{}()) {}

  std::chrono::milliseconds next() {
    const auto ceiling = ceiling_for(attempt_);
    if (attempt_ < 30) ++attempt_;
    std::uniform_int_distribution<long long> pick(0, ceiling.count());
    return std::chrono::milliseconds(pick(rng_));
  }
  void reset() { attempt_ = 0; }
  int attempt() const { return attempt_; }

  // The upper bound of the wait before attempt `n` (0-based).
  std::chrono::milliseconds ceiling_for(int n) const {
    const long long scaled = base_.count() << std::min(n, 30);
    return std::chrono::milliseconds(std::min<long long>(scaled, cap_.count()));
  }

 private:
  std::chrono::milliseconds base_;
  std::chrono::milliseconds cap_;
  std::mt19937_64 rng_;
  int attempt_ = 0;
};

}  // namespace realtime
