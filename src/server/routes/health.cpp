#include "server/routes/health.hpp"

#include <cstdio>
#include <optional>
#include <sstream>

namespace realtime::routes {
namespace {

// {"status":"ok","latency_ms":0.214}; latency null while down or before the first probe.
void dependency(std::ostringstream& out, bool up,
                std::optional<std::chrono::microseconds> latency) {
  out << "{\"status\":\"" << (up ? "ok" : "down") << "\",\"latency_ms\":";
  if (latency) {
    char ms[32];
    std::snprintf(ms, sizeof ms, "%.3f", static_cast<double>(latency->count()) / 1000.0);
    out << ms;
  } else {
    out << "null";
  }
  out << '}';
}

}  // namespace

HttpResponse health(const Config& config, const Broker& broker, const Metrics& metrics,
                    const std::optional<JwksStatus>& jwks,
                    std::chrono::steady_clock::time_point now) {
  const std::optional<DependencyHealth> engine = broker.dependency();
  // One snapshot for the status code and the engine's entry: healthy() may change between two
  // reads (a Redis dying), and a 503 must never show the engine "ok".
  const bool delivering = engine ? engine->up : broker.healthy();
  const storage::WriterStats* db = metrics.database();
  const bool db_up = db == nullptr || db->reachable(now);
  const std::int64_t uptime = metrics.uptime_seconds();

  std::ostringstream body;
  const bool keys_fresh = !jwks || jwks->ok;
  body << "{\"status\":\"" << (delivering && db_up && keys_fresh ? "ok" : "degraded")
       << "\",\"service\":\"realtime\",\"plugin\":\"realtime\",\"version\":\"" << REALTIME_VERSION
       << "\",\"engine\":\"" << broker.engine() << "\",\"connections\":" << metrics.connections()
       << ",\"topics\":" << broker.topic_count() << ",\"shards\":" << config.threads
       << ",\"uptime\":" << uptime << ",\"uptime_seconds\":" << uptime;
  if (db != nullptr) {
    body << ",\"database\":\"" << (db_up ? "ok" : "down") << "\",\"database_kind\":\"" << db->kind
         << "\",\"migrations\":{\"applied\":" << db->migrations_applied.load()
         << ",\"expected\":" << db->migrations_expected << '}';
  } else {
    // Nothing to migrate: nself's installer reads applied == expected as ready.
    body << ",\"database\":\"off\",\"database_kind\":\"none\""
         << ",\"migrations\":{\"applied\":0,\"expected\":0}";
  }
  if (jwks) body << ",\"jwks\":" << to_json(*jwks);
  body << ",\"dependencies\":{";
  const char* separator = "";
  if (db != nullptr) {
    body << "\"database\":";
    dependency(body, db_up, db->latency(now));
    separator = ",";
  }
  if (engine) {
    body << separator << '"' << engine->name << "\":";
    dependency(body, engine->up, engine->latency);
    if (!engine->shards.empty()) {
      // Redis Cluster: {"status":…,"latency_ms":…,"shards":[{"node":"h:p","slots":N,…}]}
      body.seekp(-1, std::ios_base::cur);
      body << ",\"shards\":[";
      for (std::size_t i = 0; i < engine->shards.size(); ++i) {
        const auto& shard = engine->shards[i];
        body << (i == 0 ? "" : ",") << "{\"node\":\"" << shard.node
             << "\",\"slots\":" << shard.slots << ',';
        std::ostringstream one;
        dependency(one, shard.up, shard.latency);
        body << one.str().substr(1);
      }
      body << "]}";
    }
  }
  body << "}}";
  return {delivering ? 200 : 503, "application/json", body.str(), {}};
}

}  // namespace realtime::routes
