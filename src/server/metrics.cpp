#include "server/metrics.hpp"

#include <sstream>

namespace realtime {

Metrics::Metrics(std::size_t shards)
    : shards_(std::make_unique<ShardCounters[]>(shards)), shard_count_(shards) {}

bool Metrics::try_acquire_connection(int max) {
  auto current = connections_.load(std::memory_order_relaxed);
  do {
    if (current >= max) return false;
  } while (!connections_.compare_exchange_weak(current, current + 1, std::memory_order_relaxed));
  connections_total_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

void Metrics::release_connection() { connections_.fetch_sub(1, std::memory_order_relaxed); }

std::int64_t Metrics::uptime_seconds() const {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() -
                                                          started_)
      .count();
}

std::string Metrics::render_prometheus(std::size_t topics, std::string_view engine) const {
  std::uint64_t delivered = 0, bytes = 0;
  std::int64_t subscriptions = 0;
  for (std::size_t i = 0; i < shard_count_; ++i) {
    delivered += shards_[i].messages_delivered.load(std::memory_order_relaxed);
    bytes += shards_[i].bytes_out.load(std::memory_order_relaxed);
    subscriptions += shards_[i].subscriptions.load(std::memory_order_relaxed);
  }
  std::ostringstream out;
  auto metric = [&](const char* name, const char* type, const char* help, auto value) {
    out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n'
        << name << ' ' << value << '\n';
  };
  metric("realtime_connections", "gauge", "Open WebSocket connections.", connections());
  metric("realtime_connections_total", "counter", "WebSocket connections accepted since start.",
         connections_total_.load(std::memory_order_relaxed));
  metric("realtime_upgrades_rejected_total", "counter",
         "WebSocket upgrades refused (origin, auth, connection limit).",
         rejected_upgrades_.load(std::memory_order_relaxed));
  metric("realtime_subscriptions", "gauge", "Topic subscriptions of open connections.",
         subscriptions);
  metric("realtime_topics", "gauge", "Topics with at least one subscriber on this node.", topics);
  metric("realtime_messages_published_total", "counter", "Events accepted for publishing.",
         messages_published_.load(std::memory_order_relaxed));
  metric("realtime_messages_delivered_total", "counter", "Event frames queued to subscribers.",
         delivered);
  metric("realtime_bytes_out_total", "counter", "Bytes of frames written to WebSockets.", bytes);
  metric("realtime_slow_consumer_closes_total", "counter",
         "Connections closed with 4008 because their send queue overflowed.",
         slow_consumer_closes_.load(std::memory_order_relaxed));
  metric("realtime_heartbeat_timeouts_total", "counter",
         "Connections closed with 4009 because the client went silent.",
         heartbeat_closes_.load(std::memory_order_relaxed));
  out << "# HELP realtime_presence_events_total Presence events this node published to topics, "
         "by event.\n# TYPE realtime_presence_events_total counter\n"
      << "realtime_presence_events_total{event=\"realtime.presence.changed\"} "
      << presence_changed_events_.load(std::memory_order_relaxed) << '\n'
      << "realtime_presence_events_total{event=\"realtime.presence.diff\"} "
      << presence_diff_events_.load(std::memory_order_relaxed) << '\n';
  metric("realtime_presence_changes_coalesced_total", "counter",
         "Presence changes that reached their topic inside a diff, or folded into a later change "
         "of the same user, rather than as an event of their own.",
         presence_coalesced_.load(std::memory_order_relaxed));
  metric("realtime_presence_changes_muted_total", "counter",
         "Presence changes of topics whose rule says \"presence_events\": false (no event).",
         presence_muted_.load(std::memory_order_relaxed));
  if (database_ != nullptr) {
    metric("realtime_database_up", "gauge",
           "1 while the last-seen database answers (writes, and a probe every 2 s).",
           database_->reachable() ? 1 : 0);
    metric("realtime_presence_pending_rows", "gauge",
           "Last-seen rows (one per user) waiting to be written.", database_->pending.load());
    metric("realtime_presence_rows_written_total", "counter",
           "Last-seen rows written to the database.", database_->written.load());
    metric("realtime_presence_write_failures_total", "counter",
           "Failed last-seen writes (each is retried with backoff).",
           database_->write_failures.load());
    metric(
        "realtime_presence_rows_dropped_total", "counter",
        "Last-seen rows dropped: over REALTIME_PRESENCE_PENDING_MAX, or refused by the database.",
        database_->dropped.load());
  }
  out << "# HELP realtime_errors_total Error frames and HTTP errors sent, by code.\n"
      << "# TYPE realtime_errors_total counter\n";
  for (std::size_t i = 0; i < error_code_count; ++i) {
    out << "realtime_errors_total{code=\"" << to_string(static_cast<ErrorCode>(i)) << "\"} "
        << errors_[i].load(std::memory_order_relaxed) << '\n';
  }
  out << "# HELP realtime_uptime_seconds Seconds since the process started.\n"
      << "# TYPE realtime_uptime_seconds gauge\nrealtime_uptime_seconds " << uptime_seconds()
      << '\n'
      << "# HELP realtime_info Build and engine information.\n# TYPE realtime_info gauge\n"
      << "realtime_info{version=\"" << REALTIME_VERSION << "\",engine=\"" << engine << "\"} 1\n";
  return out.str();
}

}  // namespace realtime
