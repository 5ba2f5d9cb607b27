#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace rtbench {

struct Percentiles {
  std::size_t count = 0;
  double p50 = 0, p90 = 0, p99 = 0, max = 0;  // in the unit of the samples
};

// Nearest-rank percentiles; sorts `samples` in place.
inline Percentiles percentiles(std::vector<std::int64_t>& samples) {
  Percentiles r;
  r.count = samples.size();
  if (samples.empty()) return r;
  std::sort(samples.begin(), samples.end());
  auto at = [&](double q) {
    auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(samples.size())));
    if (rank == 0) rank = 1;
    return static_cast<double>(samples[std::min(rank, samples.size()) - 1]);
  };
  r.p50 = at(0.50);
  r.p90 = at(0.90);
  r.p99 = at(0.99);
  r.max = static_cast<double>(samples.back());
  return r;
}

inline double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

}  // namespace rtbench
