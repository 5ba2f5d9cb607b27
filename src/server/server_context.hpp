#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "auth/authorizer.hpp"
#include "auth/security.hpp"
#include "broker/broker.hpp"
#include "config/config.hpp"
#include "presence/presence_store.hpp"
#include "server/http_api.hpp"
#include "server/metrics.hpp"

namespace realtime {

class HistoryPolicy;
class SocketIoGateway;
class TypingTracker;

// What sessions and shards share, wired by Server. Every member outlives the sessions.
struct ServerContext {
  const Config* config = nullptr;
  Broker* broker = nullptr;
  PresenceStore* presence = nullptr;
  TypingTracker* typing = nullptr;
  Metrics* metrics = nullptr;
  HttpApi* api = nullptr;
  SocketIoGateway* gateway = nullptr;  // null: REALTIME_SOCKETIO_PATH=off
  Security* security = nullptr;
  Authorizer* authorizer = nullptr;        // the rules and their checks
  const HistoryPolicy* history = nullptr;  // which topics keep history
  TokenClaims* token_claims = nullptr;     // cluster-wide single use of tokens; null on one node
  std::string node_id;  // random per process: connection ids stay unique across nodes
  std::atomic<std::uint64_t> connection_counter{0};
  std::atomic<bool> shutting_down{false};  // no new connections; sessions closing with 1001
  std::atomic<bool> stopped{false};        // shard loops ended: sessions must not notify others

  std::string next_connection_id() {
    return node_id + "-" + std::to_string(connection_counter.fetch_add(1) + 1);
  }
};

}  // namespace realtime
