#pragma once

#include <chrono>
#include <cstdint>

namespace realtime {

// Wall-clock milliseconds since the Unix epoch: the `ts` of frames.
inline std::int64_t unix_millis() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace realtime
