#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "protocol/error_code.hpp"
#include "storage/writer_stats.hpp"

namespace realtime {

// Counters written by one shard thread only, so the hot path never contends on a cache line.
struct alignas(64) ShardCounters {
  std::atomic<std::uint64_t> messages_delivered{0};
  std::atomic<std::uint64_t> bytes_out{0};
  std::atomic<std::int64_t> subscriptions{0};

  static void add(std::atomic<std::uint64_t>& c, std::uint64_t n) {
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
};

// Process-wide counters and gauges behind /metrics and /health.
class Metrics {
 public:
  explicit Metrics(std::size_t shards);

  ShardCounters& shard(std::size_t i) { return shards_[i]; }

  // Takes a connection slot; false when `max` are in use.
  bool try_acquire_connection(int max);
  void release_connection();
  std::int64_t connections() const { return connections_.load(std::memory_order_relaxed); }

  void count_published(std::uint64_t n) {
    messages_published_.fetch_add(n, std::memory_order_relaxed);
  }
  void count_slow_consumer() { slow_consumer_closes_.fetch_add(1, std::memory_order_relaxed); }
  void count_heartbeat_timeout() { heartbeat_closes_.fetch_add(1, std::memory_order_relaxed); }
  void count_error(ErrorCode code) {
    errors_[static_cast<std::size_t>(code)].fetch_add(1, std::memory_order_relaxed);
  }
  void count_rejected_upgrade() { rejected_upgrades_.fetch_add(1, std::memory_order_relaxed); }
  // The presence publisher's totals (PresenceCoalescer::Counts), stored as they stand.
  void set_presence_counts(std::uint64_t changed, std::uint64_t diffs, std::uint64_t coalesced,
                           std::uint64_t muted) {
    presence_changed_events_.store(changed, std::memory_order_relaxed);
    presence_diff_events_.store(diffs, std::memory_order_relaxed);
    presence_coalesced_.store(coalesced, std::memory_order_relaxed);
    presence_muted_.store(muted, std::memory_order_relaxed);
  }

  // The last-seen writer's counters (set once before the server starts); null: persistence off.
  void set_database(const storage::WriterStats* stats) { database_ = stats; }
  const storage::WriterStats* database() const { return database_; }

  std::int64_t uptime_seconds() const;
  std::string render_prometheus(std::size_t topics, std::string_view engine) const;

 private:
  std::unique_ptr<ShardCounters[]> shards_;
  std::size_t shard_count_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  std::atomic<std::int64_t> connections_{0};
  std::atomic<std::uint64_t> connections_total_{0};
  std::atomic<std::uint64_t> messages_published_{0};
  std::atomic<std::uint64_t> slow_consumer_closes_{0};
  std::atomic<std::uint64_t> heartbeat_closes_{0};
  std::atomic<std::uint64_t> rejected_upgrades_{0};
  std::atomic<std::uint64_t> presence_changed_events_{0};
  std::atomic<std::uint64_t> presence_diff_events_{0};
  std::atomic<std::uint64_t> presence_coalesced_{0};
  std::atomic<std::uint64_t> presence_muted_{0};
  std::array<std::atomic<std::uint64_t>, error_code_count> errors_{};
  const storage::WriterStats* database_ = nullptr;
};

}  // namespace realtime
