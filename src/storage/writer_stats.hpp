#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace realtime::storage {

// What /health and /metrics show of the last-seen writer. Written by the writer, read by any.
struct WriterStats {
  std::string kind;  // "postgres" | "sqlite"; set before the writer starts
  std::atomic<bool> up{false};
  std::atomic<std::int64_t> pending{0};
  std::atomic<std::uint64_t> written{0};
  std::atomic<std::uint64_t> write_failures{0};
  std::atomic<std::uint64_t> dropped{0};
};

}  // namespace realtime::storage
