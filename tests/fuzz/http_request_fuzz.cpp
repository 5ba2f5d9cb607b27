// libFuzzer target: the HTTP side of a connection, as HttpSession runs it: Beast's request
// parser (the session's header and body limits) over a stream of pipelined requests, each
// answered by HttpApi::handle or decided by HttpApi::upgrade, with fakes for the broker and the
// presence store (like tests/unit/server/http_api_test.cpp). The first input byte sets the
// server's mode (dev, API key, origins, broker up or down, loopback peer); the rest is the
// stream. "@TOKEN@" in a target or header becomes a fresh connection token, so the accepted
// token paths run too. GET /realtime/history reads from a fake stream. Checks that each request is
// answered exactly once, synchronously, with a sane status, JSON where it says JSON and no line
// breaks in headers; that a refused framing ends the connection; and that no connection slot is
// leaked.
#include <spdlog/spdlog.h>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/json/parse.hpp>

#include <cctype>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>

#include "auth/authorizer.hpp"
#include "auth/security.hpp"
#include "broker/broker.hpp"
#include "broker/history.hpp"
#include "config/config.hpp"
#include "fuzz_support.hpp"
#include "presence/presence_store.hpp"
#include "server/http_api.hpp"
#include "server/metrics.hpp"
#include "server/request_framing.hpp"

namespace http = boost::beast::http;
using namespace realtime;

namespace {

constexpr std::uint32_t kHeaderLimit = 16 * 1024;  // HttpSession's
constexpr std::string_view kKey = "fuzz-api-key-0123456789";

class FakeBroker final : public Broker {
 public:
  void publish(std::vector<PublishedEvent> events, PublishCallback done) override {
    FUZZ_CHECK(!events.empty());
    done(up ? PublishStatus::ok : PublishStatus::unavailable);
  }
  void topic_added(std::string_view, std::size_t) override {}
  void topic_removed(std::string_view, std::size_t) override {}
  bool healthy() const override { return up; }
  std::string_view engine() const override { return "fake"; }
  std::size_t topic_count() const override { return 0; }
  // Up: a stream of two events after `since` (at most `limit`); down: cannot answer.
  void read_history(std::string_view topic, const HistoryLimits&, HistoryRequest request,
                    std::function<void(HistoryResult)> done) override {
    HistoryResult r;
    r.ok = up;
    r.epoch = "0123456789abcdef";
    const std::uint64_t since = std::min<std::uint64_t>(request.since, 1u << 30);
    r.offset = since + 2;
    r.first_kept = since + 1;
    for (std::uint64_t o = since + 1; o <= r.offset && r.events->size() < request.limit; ++o) {
      r.events->push_back(
          make_topic_frame({std::string(topic), "m", R"({"a":[1,"\u00e9"]})", {}}, 1, o));
    }
    done(std::move(r));
  }
  bool up = true;
};

class FakePresence final : public PresenceStore {
 public:
  void connect(std::string_view, std::string_view) override {}
  void set_status(std::string_view, PresenceStatus) override {}
  void join(std::string_view, std::string_view) override {}
  void leave(std::string_view, std::string_view) override {}
  void disconnect(std::string_view) override {}
  void users_in(std::string_view, UsersCallback done) override {
    done({{.user_id = "alice", .status = PresenceStatus::online, .connections = 1}});
  }
  void users_connected(std::vector<std::string>, UsersCallback done) override { done({}); }
};

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

void replace_all(std::string& s, std::string_view what, const std::string& with) {
  for (auto at = s.find(what); at != std::string::npos; at = s.find(what, at + with.size())) {
    s.replace(at, what.size(), with);
  }
}

void check_response(const HttpResponse& r) {
  FUZZ_CHECK(r.status >= 100 && r.status <= 599);
  for (const auto& [name, value] : r.headers) {
    FUZZ_CHECK(name.find_first_of("\r\n") == std::string::npos);
    FUZZ_CHECK(value.find_first_of("\r\n") == std::string::npos);
  }
  if (r.content_type == "application/json" && !r.body.empty()) {
    boost::json::error_code ec;
    (void)boost::json::parse(r.body, ec);
    FUZZ_CHECK(!ec);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool quiet = [] {
    spdlog::set_level(spdlog::level::off);  // dev mode warns on every minted token
    return true;
  }();
  (void)quiet;
  if (size == 0) return 0;
  const std::uint8_t mode = data[0];
  std::string_view stream = fuzz::as_text(data + 1, size - 1);

  Config config;
  config.dev = (mode & 1) != 0;
  if ((mode & 2) != 0) config.api_key = std::string(kKey);
  config.cors_origins = (mode & 4) != 0 ? std::vector<std::string>{"*"}
                                        : std::vector<std::string>{"https://app.example"};
  config.threads = 1;
  config.max_body_bytes = 4096;
  config.max_subscriptions = 8;
  config.max_connections = 4;
  FakeBroker broker;
  broker.up = (mode & 8) == 0;
  FakePresence presence;
  Metrics metrics(1);
  Security security(parse_hasura_jwt_secret(std::string(32, 'h')), std::string(32, 's'), 60,
                    std::make_unique<MemoryUsedTokens>());
  Authorizer authorizer(AccessRules::defaults(), 64);
  HttpApi api(config, security, authorizer, broker, presence, metrics, "");
  // Every topic keeps history (mode bit 16: none does): GET /realtime/history answers.
  HistoryPolicy history(HistoryLimits{(mode & 16) != 0 ? 0u : 10u},
                        std::make_shared<const AccessRules>(AccessRules::defaults()));
  api.set_history_policy(&history);
  const std::string token =
      security.issue({.user_id = "fuzz", .role = "user", .grants = {"room:*"}}, unix_seconds());

  for (int requests = 0; !stream.empty() && requests < 32; ++requests) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(kHeaderLimit);
    parser.body_limit(config.max_body_bytes);
    parser.eager(true);
    boost::beast::error_code ec;
    while (!parser.is_done()) {
      const std::size_t used = parser.put(boost::asio::buffer(stream.data(), stream.size()), ec);
      stream.remove_prefix(used);
      // Malformed (the session answers 400 and closes), or more is needed than there is.
      if ((ec && ec != http::error::need_more) || used == 0) break;
    }
    if (!parser.is_done()) break;

    auto& req = parser.get();
    HttpRequest request;
    request.method = std::string(req.method_string());
    request.target = std::string(req.target());
    replace_all(request.target, "@TOKEN@", token);
    for (const auto& field : req) {
      std::string value(field.value());
      replace_all(value, "@TOKEN@", token);
      request.headers.emplace_back(lower(field.name_string()), std::move(value));
    }
    request.from_loopback = (mode & 16) != 0;
    request.body = req.body();

    if (ambiguous_framing(request)) break;  // 400, and the connection closes
    if (boost::beast::websocket::is_upgrade(req) && HttpApi::is_connect_path(request.target)) {
      auto decision = api.upgrade(request);
      if (auto* grant = std::get_if<UpgradeGrant>(&decision)) {
        FUZZ_CHECK(grant->accept_key.size() == 28);
        FUZZ_CHECK(!grant->subject.user_id.empty() && !grant->subject.role.empty());
        FUZZ_CHECK(grant->topics.size() <= static_cast<std::size_t>(config.max_subscriptions));
        FUZZ_CHECK(metrics.connections() == 1);
        metrics.release_connection();  // the session's end
      } else {
        check_response(std::get<HttpResponse>(decision));
      }
      break;  // a WebSocket from here on, or closed after the refusal
    }
    int answers = 0;
    api.handle(request, [&](HttpResponse response) {
      ++answers;
      check_response(response);
    });
    FUZZ_CHECK(answers == 1);
    if (!req.keep_alive()) break;
  }
  FUZZ_CHECK(metrics.connections() == 0);
  return 0;
}
