#include "server/http_api.hpp"

#include <spdlog/spdlog.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include <fstream>
#include <random>
#include <sstream>

#include "protocol/frame.hpp"
#include "protocol/topic.hpp"
#include "server/routes/health.hpp"
#include "server/routes/history_routes.hpp"
#include "server/routes/route_helpers.hpp"
#include "util/clock.hpp"
#include "ws/deflate_offer.hpp"
#include "ws/frame_codec.hpp"

namespace json = boost::json;

namespace realtime {
namespace {

constexpr std::string_view presence_prefix = "/realtime/presence/";
constexpr std::size_t max_user_id_bytes = 255;

// The length of what a standard base64 string decodes to, 0 when it is not base64.
std::size_t base64_decoded_size(std::string_view s) {
  if (s.size() % 4 != 0) return 0;
  std::size_t pad = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool alnum = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (c == '=' && i + 2 >= s.size()) {
      ++pad;
    } else if (!alnum && c != '+' && c != '/') {
      return 0;
    } else if (pad > 0) {
      return 0;
    }
  }
  return s.size() / 4 * 3 - pad;
}

std::string_view content_type_for(std::string_view path) {
  auto dot = path.rfind('.');
  std::string_view ext = dot == std::string_view::npos ? "" : path.substr(dot + 1);
  if (ext == "html") return "text/html; charset=utf-8";
  if (ext == "js" || ext == "mjs") return "text/javascript; charset=utf-8";
  if (ext == "css") return "text/css; charset=utf-8";
  if (ext == "json" || ext == "map") return "application/json";
  if (ext == "svg") return "image/svg+xml";
  if (ext == "png") return "image/png";
  if (ext == "ico") return "image/x-icon";
  return "application/octet-stream";
}

bool offers_subprotocol(std::string_view header) {
  std::size_t pos = 0;
  while (pos <= header.size()) {
    auto comma = header.find(',', pos);
    auto item = header.substr(pos, comma == std::string_view::npos ? header.npos : comma - pos);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item == subprotocol_v1) return true;
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return false;
}

}  // namespace

std::string_view HttpRequest::header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return value;
  }
  return {};
}

HttpApi::HttpApi(const Config& config, Security& security, Authorizer& authorizer, Broker& broker,
                 PresenceStore& presence, Metrics& metrics, std::string static_dir)
    : config_(config),
      security_(security),
      authorizer_(authorizer),
      broker_(broker),
      presence_(presence),
      metrics_(metrics),
      static_dir_(std::move(static_dir)),
      user_commands_(config, metrics),
      broadcasts_(config, broker, metrics),
      history_(broker, metrics) {}

bool HttpApi::is_connect_path(std::string_view target) {
  auto path = target.substr(0, target.find('?'));
  return path == "/realtime/connect";
}

HttpResponse HttpApi::error(int status, ErrorCode code, std::string_view message) const {
  return error_response(metrics_, status, code, message);
}

bool HttpApi::authorized(const HttpRequest& request) const {
  return has_server_key(config_, request);
}

void HttpApi::add_cors(std::string_view origin, HttpResponse& response) const {
  if (origin.empty() || !config_.origin_allowed(origin)) return;
  response.headers.emplace_back("Access-Control-Allow-Origin", std::string(origin));
  response.headers.emplace_back("Vary", "Origin");
}

HttpResponse HttpApi::preflight(const HttpRequest& request) const {
  std::string_view origin = request.header("origin");
  if (origin.empty() || !config_.origin_allowed(origin)) {
    return {403, "application/json", encode_http_error("forbidden", "origin not allowed"), {}};
  }
  HttpResponse response{204, "", "", {}};
  add_cors(origin, response);
  response.headers.emplace_back("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
  response.headers.emplace_back(
      "Access-Control-Allow-Headers",
      "Authorization, Content-Type, X-Plugin-Secret, X-Internal-Token, X-API-Key, X-Hasura-Role");
  response.headers.emplace_back("Access-Control-Max-Age", "600");
  return response;
}

HttpResponse HttpApi::health() const {
  return routes::health(config_, broker_, metrics_, security_.jwks_status());
}

HttpResponse HttpApi::static_file(std::string_view path) const {
  if (path == "/") path = "/index.html";
  HttpResponse not_found{
      404, "application/json", encode_http_error("not_found", "no such resource"), {}};
  if (static_dir_.empty() || path.find("..") != std::string_view::npos ||
      path.find('\0') != std::string_view::npos) {
    return not_found;
  }
  std::ifstream file(static_dir_ + std::string(path), std::ios::binary);
  if (!file) return not_found;
  std::ostringstream body;
  body << file.rdbuf();
  return {200, std::string(content_type_for(path)), body.str(), {}};
}

void HttpApi::handle(const HttpRequest& request, Respond respond) {
  // Responses may come later from another thread: keep only what they need, by value.
  auto finish = [this, origin = std::string(request.header("origin")),
                 respond](HttpResponse response) {
    add_cors(origin, response);
    respond(std::move(response));
  };
  if (request.method == "OPTIONS") return respond(preflight(request));

  auto url = boost::urls::parse_origin_form(request.target);
  if (!url) return finish(error(400, ErrorCode::bad_request, "malformed request target"));
  const std::string path = url->path();

  auto not_allowed = [&](std::string_view allow) {
    HttpResponse r{405,
                   "application/json",
                   encode_http_error("method_not_allowed", "use " + std::string(allow)),
                   {}};
    r.headers.emplace_back("Allow", std::string(allow));
    finish(std::move(r));
  };

  // HEAD is GET without the body (the HTTP session drops it), wherever GET is allowed.
  const bool get = request.method == "GET" || request.method == "HEAD";
  if (path == "/health") {
    if (!get) return not_allowed("GET, HEAD");
    return finish(health());
  }
  if (path == "/metrics") {
    if (!get) return not_allowed("GET, HEAD");
    std::string text = metrics_.render_prometheus(broker_.topic_count(), broker_.engine());
    const Authorizer::Stats checks = authorizer_.stats();
    text +=
        "# HELP realtime_checks_total Questions the rules' checks asked their backends.\n"
        "# TYPE realtime_checks_total counter\n"
        "realtime_checks_total " +
        std::to_string(checks.checks_run) +
        "\n"
        "# HELP realtime_check_cache_hits_total Decisions answered from the check cache.\n"
        "# TYPE realtime_check_cache_hits_total counter\n"
        "realtime_check_cache_hits_total " +
        std::to_string(checks.cache_hits) +
        "\n"
        "# HELP realtime_check_denied_total Checks that said no.\n"
        "# TYPE realtime_check_denied_total counter\n"
        "realtime_check_denied_total " +
        std::to_string(checks.denied) +
        "\n"
        "# HELP realtime_check_unavailable_total Checks whose backend could not answer.\n"
        "# TYPE realtime_check_unavailable_total counter\n"
        "realtime_check_unavailable_total " +
        std::to_string(checks.unavailable) + "\n";
    return finish({200, "text/plain; version=0.0.4", std::move(text), {}});
  }
  if (path == "/realtime/publish") {
    if (request.method != "POST") return not_allowed("POST");
    return publish(request, finish);
  }
  if (path == "/realtime/token") {
    if (request.method != "POST") return not_allowed("POST");
    return token(request, finish);
  }
  if (UserCommandRoutes::handles(path)) return user_commands_.handle(request, path, finish);
  if (BroadcastRoutes::handles(path)) return broadcasts_.handle(request, path, finish);
  if (path.starts_with(presence_prefix)) {
    if (!get) return not_allowed("GET, HEAD");
    return presence(request, path.substr(presence_prefix.size()), finish);
  }
  if (path.starts_with(HistoryRoutes::prefix)) {
    if (!get) return not_allowed("GET, HEAD");
    return history(request, path.substr(HistoryRoutes::prefix.size()), url->encoded_query(),
                   finish);
  }
  if (path == "/realtime/connect") {
    if (!get) return not_allowed("GET");
    HttpResponse r{
        426,
        "application/json",
        encode_http_error("upgrade_required", "GET /realtime/connect is a WebSocket endpoint"),
        {}};
    r.headers.emplace_back("Upgrade", "websocket");
    return finish(std::move(r));
  }
  if (path.starts_with("/realtime/") || !get) {
    return finish(
        {404, "application/json", encode_http_error("not_found", "no such endpoint"), {}});
  }
  finish(static_file(path));
}

void HttpApi::publish(const HttpRequest& request, Respond respond) {
  if (!authorized(request)) return respond(missing_server_key());
  PublishLimits limits{static_cast<std::size_t>(config_.max_batch_messages),
                       config_.max_message_bytes};
  auto parsed = parse_publish_request(request.body, limits);
  if (auto* err = std::get_if<PublishRequestError>(&parsed)) {
    const int status = err->code == ErrorCode::message_too_large ? 413 : 400;
    return respond(error(status, err->code, err->message));
  }
  auto events = std::move(std::get<std::vector<PublishedEvent>>(parsed));
  const std::size_t count = events.size();
  broker_.publish(std::move(events), [this, count, respond](PublishStatus status) {
    if (status != PublishStatus::ok) {
      return respond(error(503, ErrorCode::unavailable,
                           "the broker cannot accept messages now; nothing was published"));
    }
    metrics_.count_published(count);
    respond({202, "application/json", "{\"published\":" + std::to_string(count) + "}", {}});
  });
}

void HttpApi::presence(const HttpRequest& request, std::string topic, Respond respond) {
  with_topic_access(
      request, topic, TopicAction::presence, "read this topic's presence",
      [this, topic, respond] { list_presence(topic, respond); }, respond);
}

void HttpApi::history(const HttpRequest& request, std::string topic, std::string_view query,
                      Respond respond) {
  with_topic_access(
      request, topic, TopicAction::subscribe, "read this topic's history",
      [this, topic, query = std::string(query), respond] { history_.read(topic, query, respond); },
      respond);
}

void HttpApi::with_topic_access(const HttpRequest& request, const std::string& topic,
                                TopicAction action, std::string_view what,
                                std::function<void()> allowed, const Respond& respond) {
  if (!is_valid_topic(topic)) {
    return respond(
        error(400, ErrorCode::bad_request, "topic must be 1-200 bytes of [A-Za-z0-9_.:@/-]"));
  }
  const std::string_view admin_secret = request.header("x-hasura-admin-secret");
  const bool trusted =
      authorized(request) || (!config_.hasura_admin_secret.empty() && !admin_secret.empty() &&
                              constant_time_equal(admin_secret, config_.hasura_admin_secret));
  if (trusted) return allowed();
  // A user's connection token or Hasura JWT: the topic's rule (and check) decides.
  auto who = security_.identify(bearer_token(request.header("authorization")),
                                request.header("x-hasura-role"), unix_seconds());
  if (auto* err = std::get_if<AuthError>(&who)) return respond(unauthorized(*err));
  auto decided = [this, allowed, respond, what = std::string(what)](const Authorization& a) {
    if (a.allowed()) return allowed();
    if (a.outcome == Authorization::Outcome::unavailable) {
      return respond(error(503, ErrorCode::unavailable,
                           "cannot check access to this topic now; try again later"));
    }
    respond(error(403, ErrorCode::forbidden, "you may not " + what));
  };
  auto answer = authorizer_.authorize(action, topic, std::get<Subject>(who), decided);
  if (answer) decided(*answer);
}

void HttpApi::list_presence(const std::string& topic, Respond respond) {
  presence_.users_in(topic, [this, topic, respond](std::vector<UserPresence> users) {
    if (!typing_lookup_) return respond_presence(topic, std::move(users), {}, respond);
    typing_lookup_(topic, [this, topic, users = std::move(users),
                           respond](std::vector<std::string> typing) mutable {
      respond_presence(topic, std::move(users), std::move(typing), respond);
    });
  });
}

void HttpApi::respond_presence(const std::string& topic, std::vector<UserPresence> users,
                               std::vector<std::string> typing, const Respond& respond) {
  const auto now = unix_millis();
  std::string body = "{\"topic\":";
  append_json_string(body, topic);
  body += ",\"users\":[";
  for (std::size_t i = 0; i < users.size(); ++i) {
    if (i > 0) body += ',';
    body += "{\"user_id\":";
    append_json_string(body, users[i].user_id);
    body += ",\"status\":\"";
    body += to_string(users[i].status);
    body += "\",\"connections\":" + std::to_string(users[i].connections);
    // Present users are being seen right now; those who left carry the stored time.
    body += ",\"last_seen\":" + std::to_string(users[i].last_seen_ms.value_or(now)) + '}';
  }
  body += "],\"typing\":[";
  for (std::size_t i = 0; i < typing.size(); ++i) {
    if (i > 0) body += ',';
    append_json_string(body, typing[i]);
  }
  body += "],\"count\":" + std::to_string(users.size()) + '}';
  respond({200, "application/json", std::move(body), {}});
}

HttpResponse HttpApi::unauthorized(const AuthError& err) const {
  std::string body = "{\"error\":\"unauthorized\",\"reason\":\"";
  body += to_string(err.reason);
  body += "\",\"message\":";
  append_json_string(body, err.message);
  body += '}';
  HttpResponse r{401, "application/json", std::move(body), {}};
  r.headers.emplace_back("WWW-Authenticate", "Bearer");
  return r;
}

void HttpApi::token(const HttpRequest& request, Respond respond) {
  const std::int64_t now = unix_seconds();
  Subject subject;
  const std::string_view bearer = bearer_token(request.header("authorization"));
  const bool service = !config_.api_key.empty() && authorized(request);
  if (service || (config_.dev && (bearer.empty() || !security_.has_hasura()))) {
    // A trusted service (or anyone, in dev mode) names the user: {"user_id","role","topics"}.
    json::error_code ec;
    json::value body = json::parse(request.body.empty() ? "{}" : request.body, ec);
    const json::object* obj = ec ? nullptr : body.if_object();
    if (obj == nullptr) {
      return respond(error(400, ErrorCode::bad_request, "body must be a JSON object"));
    }
    const json::value* user = obj->if_contains("user_id");
    if (user == nullptr || !user->is_string() ||
        !is_valid_name(user->get_string(), max_user_id_bytes)) {
      return respond(error(400, ErrorCode::bad_request,
                           "user_id is required: 1-255 bytes of [A-Za-z0-9_.:@/-]"));
    }
    subject.user_id = std::string(user->get_string());
    subject.role = "user";
    if (const json::value* role = obj->if_contains("role")) {
      if (!role->is_string() || !is_valid_name(role->get_string(), 64)) {
        return respond(
            error(400, ErrorCode::bad_request, "role must be 1-64 bytes of [A-Za-z0-9_.:@/-]"));
      }
      subject.role = std::string(role->get_string());
    }
    if (const json::value* expires = obj->if_contains("expires_at")) {
      // Unix ms, like every timestamp of the protocol; the connection is closed then (4001)
      // unless it refreshes. Without it the connection has no expiry.
      if (!expires->is_int64() || expires->get_int64() <= unix_millis()) {
        return respond(error(400, ErrorCode::bad_request,
                             "expires_at must be a future time in Unix milliseconds"));
      }
      subject.expires_at = (expires->get_int64() + 999) / 1000;
    }
    if (const json::value* topics = obj->if_contains("topics")) {
      const json::array* list = topics->if_array();
      if (list == nullptr || list->size() > 100) {
        return respond(
            error(400, ErrorCode::bad_request, "topics must be an array of at most 100 patterns"));
      }
      for (const auto& t : *list) {
        if (!t.is_string() || t.get_string().empty() || t.get_string().size() > max_topic_bytes) {
          return respond(
              error(400, ErrorCode::bad_request, "topics must hold patterns of 1-200 bytes"));
        }
        subject.grants.emplace_back(t.get_string());
      }
    }
    if (!service) {
      spdlog::warn("dev mode: minted a connection token for {} without auth", subject.user_id);
    }
    return respond(issue_token(subject, now));
  }
  if (bearer.empty()) {
    return respond(unauthorized(
        {AuthFailure::missing_token, "send the user's Hasura JWT as Authorization: Bearer <jwt>"}));
  }
  // May answer later, from the jwk_url fetcher's thread, when the token's key is new.
  security_.subject_from_hasura(bearer, request.header("x-hasura-role"), now,
                                [this, now, respond](std::variant<Subject, AuthError> who) {
                                  if (auto* err = std::get_if<AuthError>(&who)) {
                                    return respond(unauthorized(*err));
                                  }
                                  respond(issue_token(std::get<Subject>(who), now));
                                });
}

HttpResponse HttpApi::issue_token(const Subject& subject, std::int64_t now) const {
  std::string token;
  try {
    token = security_.issue(subject, now);
  } catch (const std::exception& e) {
    spdlog::error("cannot issue a connection token: {}", e.what());
    return error(500, ErrorCode::internal, "cannot issue a token now");
  }
  std::string body = "{\"token\":";
  append_json_string(body, token);
  body += ",\"expires_in\":" + std::to_string(security_.token_ttl_seconds()) + ",\"user_id\":";
  append_json_string(body, subject.user_id);
  body += ",\"role\":";
  append_json_string(body, subject.role);
  if (subject.expires_at > 0) {
    body += ",\"connection_expires_at\":" + std::to_string(subject.expires_at * 1000);
  }
  body += '}';
  HttpResponse r{200, "application/json", std::move(body), {}};
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

HttpResponse HttpApi::refuse_upgrade(int status, std::string_view code,
                                     std::string_view message) const {
  metrics_.count_rejected_upgrade();
  return HttpResponse{status, "application/json", encode_http_error(code, message), {}};
}

std::optional<HttpResponse> HttpApi::refuse_origin(const HttpRequest& request) const {
  std::string_view origin = request.header("origin");
  // Browsers always send Origin; a non-browser client (a backend, a mobile app) may omit it and
  // is not exposed to cross-site WebSocket hijacking.
  if (!origin.empty() && !config_.origin_allowed(origin)) {
    return refuse_upgrade(403, "forbidden", "origin not allowed (REALTIME_CORS_ORIGIN)");
  }
  return std::nullopt;
}

std::variant<std::string, HttpResponse> HttpApi::websocket_accept(
    const HttpRequest& request) const {
  if (auto refused = refuse_origin(request)) return *refused;
  if (request.header("sec-websocket-version") != "13") {
    HttpResponse r = refuse_upgrade(426, "bad_request", "only WebSocket version 13 is supported");
    r.headers.emplace_back("Sec-WebSocket-Version", "13");
    return r;
  }
  const std::string_view key = request.header("sec-websocket-key");
  const auto key_bytes = key.size() == 24 ? base64_decoded_size(key) : 0;
  if (key_bytes != 16) {
    return refuse_upgrade(400, "bad_request", "Sec-WebSocket-Key must be 16 bytes in base64");
  }
  return ws::accept_key(key);
}

bool HttpApi::negotiate_deflate(const HttpRequest& request) const {
  if (!config_.compression) return false;
  // A client may split its offers over several headers: one list (RFC 9110 §5.3).
  std::string offers;
  for (const auto& [name, value] : request.headers) {
    if (name != "sec-websocket-extensions") continue;
    if (!offers.empty()) offers += ',';
    offers += value;
  }
  return !offers.empty() && ws::accepts_deflate_offer(offers);
}

std::optional<HttpResponse> HttpApi::take_connection_slot() const {
  if (!metrics_.try_acquire_connection(config_.max_connections)) {
    return refuse_upgrade(503, "unavailable",
                          "connection limit reached (REALTIME_MAX_CONNECTIONS)");
  }
  return std::nullopt;
}

std::variant<UpgradeGrant, HttpResponse> HttpApi::upgrade(const HttpRequest& request) {
  auto refuse = [this](int status, std::string_view code, std::string_view message) {
    return refuse_upgrade(status, code, message);
  };
  auto accept = websocket_accept(request);
  if (auto* refused = std::get_if<HttpResponse>(&accept)) return std::move(*refused);
  auto url = boost::urls::parse_origin_form(request.target);
  if (!url) return refuse(400, "bad_request", "malformed request target");

  UpgradeGrant grant;
  grant.accept_key = std::move(std::get<std::string>(accept));
  std::string token;
  grant.subprotocol = offers_subprotocol(request.header("sec-websocket-protocol"));
  grant.deflate = negotiate_deflate(request);
  for (auto param : url->params()) {
    if (param.key == "user" && config_.dev) {
      grant.subject.user_id = param.value;
    } else if (param.key == "role" && config_.dev) {
      grant.subject.role = param.value;
    } else if (param.key == "token") {
      token = param.value;
    } else if (param.key == "topics") {
      std::string_view list = param.value;
      std::size_t pos = 0;
      while (pos <= list.size()) {
        auto comma = list.find(',', pos);
        auto item = list.substr(pos, comma == std::string_view::npos ? list.npos : comma - pos);
        if (!item.empty()) grant.topics.emplace_back(item);
        if (comma == std::string_view::npos) break;
        pos = comma + 1;
      }
    }
  }
  if (token.empty()) token = bearer_token(request.header("authorization"));
  if (!token.empty()) {
    auto admitted = security_.admit(token, unix_seconds());
    if (auto* err = std::get_if<AuthError>(&admitted)) {
      metrics_.count_rejected_upgrade();
      return unauthorized(*err);
    }
    auto& claims = std::get<ConnectionClaims>(admitted);
    grant.subject = std::move(claims.subject);
    grant.token_id = std::move(claims.jti);
    grant.token_expires_at = claims.expires_at;
  } else if (!config_.dev) {
    metrics_.count_rejected_upgrade();
    return unauthorized({AuthFailure::missing_token,
                         "a connection token is required: POST /realtime/token, then connect "
                         "with ?token= or Authorization: Bearer"});
  } else {
    // Dev mode: anonymous, whoever they say they are; admin unless told otherwise so that
    // everything works while developing.
    if (grant.subject.user_id.empty()) {
      grant.subject.user_id = anonymous_user_id();
    } else if (!is_valid_name(grant.subject.user_id, max_user_id_bytes)) {
      return refuse(400, "bad_request", "user must be 1-255 bytes of [A-Za-z0-9_.:@/-]");
    }
    if (grant.subject.role.empty()) grant.subject.role = "admin";
  }
  if (grant.topics.size() > static_cast<std::size_t>(config_.max_subscriptions)) {
    return refuse(400, "too_many_subscriptions",
                  "topics lists more than REALTIME_MAX_SUBSCRIPTIONS topics");
  }
  if (auto refused = take_connection_slot()) return *refused;
  return grant;
}

}  // namespace realtime
