#pragma once

#include <boost/asio/ip/tcp.hpp>

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "net/shard_socket.hpp"
#include "protocol/socketio/dialect.hpp"
#include "server/http_types.hpp"

namespace realtime {

class Shard;
class SocketIoSession;
struct ServerContext;

// The Socket.IO gateway (docs/socketio.md): Engine.IO v4 on REALTIME_SOCKETIO_PATH, over
// long-polling and WebSocket, with the upgrade from one to the other. Each Engine.IO session is
// a SocketIoSession (a ClientSession speaking Socket.IO) on one shard; this node-wide index finds
// it by sid for the polling requests and the upgrade, which may arrive on any shard. Thread-safe.
class SocketIoGateway {
 public:
  SocketIoGateway(ServerContext& context, std::string path, socketio::DialectOptions options);
  ~SocketIoGateway();

  const socketio::DialectOptions& options() const { return options_; }
  // The Engine.IO timing, from REALTIME_HEARTBEAT_SECONDS: a ping every half heartbeat, a pong
  // within a heartbeat.
  std::int64_t ping_interval_ms() const;
  std::int64_t ping_timeout_ms() const;

  // Whether `target` (origin-form) is the gateway's path.
  bool handles(std::string_view target) const;

  // A polling request (GET: the handshake or a long poll, POST: packets from the client), on
  // `shard`'s thread. `respond` runs once, from any thread.
  void handle_http(const HttpRequest& request, Shard& shard, Respond respond);

  // A WebSocket upgrade: a new session (no sid) or the upgrade of a polling one. Takes the socket;
  // a refusal is written by the caller (returned), on `shard`'s thread.
  std::optional<HttpResponse> upgrade(const HttpRequest& request, Shard& shard, ShardSocket& socket,
                                      std::string& pending);

  // The session's side: ends its entry (on its shard, when it ends).
  void forget(const std::string& sid);
  // At exit, with the shards' loops stopped: the polling-born sessions go (before the shards
  // they live on; the others go with their shard's loop, like v1 sessions).
  void drop_all();

 private:
  std::shared_ptr<SocketIoSession> find(const std::string& sid);
  std::string new_sid() const;
  HttpResponse unknown_sid(const std::string& sid) const;
  // Origin and the connection limit, for a new Engine.IO session; a refusal or nullopt (a
  // connection slot is then taken).
  std::optional<HttpResponse> admit(const HttpRequest& request) const;

  ServerContext& context_;
  std::string path_;  // "/socket.io/" (also matched without the trailing slash)
  socketio::DialectOptions options_;
  std::mutex mutex_;
  // Sessions born on long-polling, by sid: their requests (and upgrade) name them. The table
  // owns them between requests.
  std::unordered_map<std::string, std::shared_ptr<SocketIoSession>> sessions_;
};

}  // namespace realtime
