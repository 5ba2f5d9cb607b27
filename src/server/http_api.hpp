#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "auth/authorizer.hpp"
#include "auth/security.hpp"
#include "broker/broker.hpp"
#include "config/config.hpp"
#include "presence/presence_store.hpp"
#include "server/http_types.hpp"
#include "server/metrics.hpp"
#include "server/routes/broadcast_routes.hpp"
#include "server/routes/history_routes.hpp"
#include "server/routes/user_command_routes.hpp"

namespace realtime {

// What an accepted WebSocket upgrade carries into the session.
struct UpgradeGrant {
  Subject subject;
  std::vector<std::string> topics;  // ?topics=, unvalidated: the session checks each like subscribe
  bool subprotocol = false;         // the client offered nself-realtime.v1
  bool deflate = false;             // permessage-deflate negotiated (ws/deflate_offer.hpp)
  std::string accept_key;           // Sec-WebSocket-Accept of the handshake response
  std::string token_id;             // jti of the connection token, empty without one
  std::int64_t token_expires_at = 0;
};

inline constexpr std::string_view subprotocol_v1 = "nself-realtime.v1";

// The HTTP surface of the server: routes, auth, CORS, JSON bodies.
class HttpApi {
 public:
  // Who is typing in a topic; `done` runs once, on any thread.
  using TypingLookup = std::function<void(std::string_view topic,
                                          std::function<void(std::vector<std::string>)> done)>;

  HttpApi(const Config& config, Security& security, Authorizer& authorizer, Broker& broker,
          PresenceStore& presence, Metrics& metrics, std::string static_dir);

  // Every request that is not a WebSocket upgrade. `respond` runs exactly once, on any thread.
  void handle(const HttpRequest& request, Respond respond);

  // Decides on a GET /realtime/connect upgrade. On success a connection slot is taken: the
  // caller gives it back with Metrics::release_connection() when the session ends.
  std::variant<UpgradeGrant, HttpResponse> upgrade(const HttpRequest& request);

  static bool is_connect_path(std::string_view target);
  // Pieces of an upgrade, shared with the Socket.IO gateway; each refusal is counted.
  // A browser's Origin must be allowed (REALTIME_CORS_ORIGIN); none (a backend, an app) is fine.
  std::optional<HttpResponse> refuse_origin(const HttpRequest& request) const;
  // The origin, Sec-WebSocket-Version 13 and a 16-byte key: the Sec-WebSocket-Accept value.
  std::variant<std::string, HttpResponse> websocket_accept(const HttpRequest& request) const;
  // Whether the upgrade negotiates permessage-deflate: REALTIME_COMPRESSION allows it and the
  // client's Sec-WebSocket-Extensions offer it in a form we can honour.
  bool negotiate_deflate(const HttpRequest& request) const;
  // A connection slot (REALTIME_MAX_CONNECTIONS), else 503; give it back with
  // Metrics::release_connection().
  std::optional<HttpResponse> take_connection_slot() const;
  // CORS headers for an allowed `origin` (nothing for another), for handlers outside the API.
  void add_cors_for(std::string_view origin, HttpResponse& response) const {
    add_cors(origin, response);
  }
  // 401 {"error":"unauthorized","reason",...} with WWW-Authenticate.
  HttpResponse unauthorized(const AuthError& error) const;
  // Without one, presence answers list nobody typing.
  void set_typing_lookup(TypingLookup lookup) { typing_lookup_ = std::move(lookup); }
  // How the server API's user commands are applied (this node's shards, then the broker).
  void set_user_commands(UserCommandRoutes::Apply apply) {
    user_commands_.set_apply(std::move(apply));
  }
  // Which topics keep history (GET /realtime/history/:topic); none without it.
  void set_history_policy(const HistoryPolicy* policy) { history_.set_policy(policy); }
  // How POST /api/broadcast counts its recipients on this node.
  void set_count_recipients(BroadcastRoutes::CountRecipients count) {
    broadcasts_.set_count_recipients(std::move(count));
  }

 private:
  HttpResponse health() const;
  HttpResponse refuse_upgrade(int status, std::string_view code, std::string_view message) const;
  HttpResponse error(int status, ErrorCode code, std::string_view message) const;
  bool authorized(const HttpRequest& request) const;
  void add_cors(std::string_view origin, HttpResponse& response) const;
  HttpResponse preflight(const HttpRequest& request) const;
  HttpResponse static_file(std::string_view path) const;
  void publish(const HttpRequest& request, Respond respond);
  void presence(const HttpRequest& request, std::string topic, Respond respond);
  void history(const HttpRequest& request, std::string topic, std::string_view query,
               Respond respond);
  // Runs `allowed` when the caller holds the server key (or Hasura's admin secret) or its token
  // may do `action` on `topic`; otherwise answers 400/401/403/503 itself.
  void with_topic_access(const HttpRequest& request, const std::string& topic, TopicAction action,
                         std::string_view what, std::function<void()> allowed,
                         const Respond& respond);
  void list_presence(const std::string& topic, Respond respond);
  void respond_presence(const std::string& topic, std::vector<UserPresence> users,
                        std::vector<std::string> typing, const Respond& respond);
  void token(const HttpRequest& request, Respond respond);
  HttpResponse issue_token(const Subject& subject, std::int64_t now) const;

  const Config& config_;
  Security& security_;
  Authorizer& authorizer_;
  Broker& broker_;
  PresenceStore& presence_;
  Metrics& metrics_;
  std::string static_dir_;
  TypingLookup typing_lookup_;
  UserCommandRoutes user_commands_;
  BroadcastRoutes broadcasts_;
  HistoryRoutes history_;
};

}  // namespace realtime
