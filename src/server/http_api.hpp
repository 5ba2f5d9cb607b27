#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "auth/security.hpp"
#include "broker/broker.hpp"
#include "config/config.hpp"
#include "presence/presence_store.hpp"
#include "server/metrics.hpp"

namespace realtime {

// An HTTP request as the API sees it: no sockets, no Beast, so every route is unit-testable.
struct HttpRequest {
  std::string method;                                        // upper case: GET, POST, OPTIONS, ...
  std::string target;                                        // origin-form: /path?query
  std::vector<std::pair<std::string, std::string>> headers;  // names in lower case
  std::string body;
  bool from_loopback = false;

  std::string_view header(std::string_view lower_name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

// What an accepted WebSocket upgrade carries into the session.
struct UpgradeGrant {
  Subject subject;
  std::vector<std::string> topics;  // ?topics=, unvalidated: the session checks each like subscribe
  bool subprotocol = false;         // the client offered nself-realtime.v1
  std::string accept_key;           // Sec-WebSocket-Accept of the handshake response
  std::string token_id;             // jti of the connection token, empty without one
  std::int64_t token_expires_at = 0;
};

inline constexpr std::string_view subprotocol_v1 = "nself-realtime.v1";

// The HTTP surface of the server: routes, auth, CORS, JSON bodies.
class HttpApi {
 public:
  using Respond = std::function<void(HttpResponse)>;
  // Who is typing in a topic; `done` runs once, on any thread.
  using TypingLookup = std::function<void(std::string_view topic,
                                          std::function<void(std::vector<std::string>)> done)>;

  HttpApi(const Config& config, Security& security, Broker& broker, PresenceStore& presence,
          Metrics& metrics, std::string static_dir);

  // Every request that is not a WebSocket upgrade. `respond` runs exactly once, on any thread.
  void handle(const HttpRequest& request, Respond respond);

  // Decides on a GET /realtime/connect upgrade. On success a connection slot is taken: the
  // caller gives it back with Metrics::release_connection() when the session ends.
  std::variant<UpgradeGrant, HttpResponse> upgrade(const HttpRequest& request);

  static bool is_connect_path(std::string_view target);
  // 401 {"error":"unauthorized","reason",...} with WWW-Authenticate.
  HttpResponse unauthorized(const AuthError& error) const;
  // Without one, presence answers list nobody typing.
  void set_typing_lookup(TypingLookup lookup) { typing_lookup_ = std::move(lookup); }

 private:
  HttpResponse health() const;
  HttpResponse error(int status, ErrorCode code, std::string_view message) const;
  bool authorized(const HttpRequest& request) const;
  void add_cors(std::string_view origin, HttpResponse& response) const;
  HttpResponse preflight(const HttpRequest& request) const;
  HttpResponse static_file(std::string_view path) const;
  void publish(const HttpRequest& request, Respond respond);
  void presence(const HttpRequest& request, std::string topic, Respond respond);
  void respond_presence(const std::string& topic, std::vector<UserPresence> users,
                        std::vector<std::string> typing, const Respond& respond);
  void token(const HttpRequest& request, Respond respond);
  HttpResponse issue_token(const Subject& subject, std::int64_t now) const;

  const Config& config_;
  Security& security_;
  Broker& broker_;
  PresenceStore& presence_;
  Metrics& metrics_;
  std::string static_dir_;
  TypingLookup typing_lookup_;
};

}  // namespace realtime
