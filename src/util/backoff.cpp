#include "util/backoff.hpp"

#include <algorithm>
#include <random>

namespace realtime {

Backoff::Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds cap, Random random)
    : initial_(std::max(initial, std::chrono::milliseconds(1))),
      cap_(std::max(cap, initial_)),
      random_(std::move(random)) {
  if (!random_) {
    random_ = [rng = std::mt19937_64(std::random_device{}())]() mutable { return rng(); };
  }
}

std::chrono::milliseconds Backoff::next() {
  std::int64_t delay = initial_.count();
  for (int i = 0; i < attempt_ && delay < cap_.count(); ++i) delay *= 2;
  delay = std::min<std::int64_t>(delay, cap_.count());
  if (attempt_ < 62) ++attempt_;
  const std::int64_t half = delay / 2;
  const auto jitter = static_cast<std::int64_t>(random_() % static_cast<std::uint64_t>(half + 1));
  return std::chrono::milliseconds(delay - half + jitter);
}

}  // namespace realtime
