#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace realtime::storage {

// What /health and /metrics show of the last-seen writer. Written by the writer, read by any.
struct WriterStats {
  using Clock = std::chrono::steady_clock;

  std::string kind;  // "postgres" | "sqlite"; set before the writer starts
  std::atomic<bool> up{false};
  std::atomic<std::int64_t> pending{0};
  std::atomic<std::uint64_t> written{0};
  std::atomic<std::uint64_t> write_failures{0};
  std::atomic<std::uint64_t> dropped{0};

  // Schema versions of this build found in the database, out of how many this build has.
  std::atomic<int> migrations_applied{0};
  int migrations_expected = 0;  // set before the writer starts
  // Round trip of the last probe that succeeded; -1 when the last one failed or none ran yet.
  std::atomic<std::int64_t> probe_latency_us{-1};
  // When the writer's current database call began (steady clock, ns), 0 while idle. A call
  // running longer than `stall_limit` means the database hangs rather than refuses: it counts as
  // down before the call's own deadline ends.
  std::atomic<std::int64_t> busy_since_ns{0};
  std::chrono::milliseconds stall_limit{2000};  // set before the writer starts

  // Up, and not stuck in one call for longer than stall_limit.
  bool reachable(Clock::time_point now = Clock::now()) const {
    if (!up.load(std::memory_order_relaxed)) return false;
    const std::int64_t since = busy_since_ns.load(std::memory_order_relaxed);
    return since == 0 || now.time_since_epoch() - std::chrono::nanoseconds(since) <= stall_limit;
  }
  std::optional<std::chrono::microseconds> latency(Clock::time_point now = Clock::now()) const {
    const std::int64_t us = probe_latency_us.load(std::memory_order_relaxed);
    if (us < 0 || !reachable(now)) return std::nullopt;
    return std::chrono::microseconds(us);
  }
};

}  // namespace realtime::storage
