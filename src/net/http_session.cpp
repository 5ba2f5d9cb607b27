#include "net/http_session.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include "net/shard.hpp"
#include "net/socketio_gateway.hpp"
#include "net/ws_session.hpp"
#include "protocol/frame.hpp"
#include "server/request_framing.hpp"
#include "server/server_context.hpp"

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace net = boost::asio;

namespace realtime {
namespace {

// A client gets this long to send a whole request: slow senders must not hold sockets forever.
constexpr auto request_timeout = std::chrono::seconds(30);
constexpr std::uint32_t header_limit = 16 * 1024;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

}  // namespace

HttpSession::HttpSession(ShardSocket&& socket, Shard& shard, bool from_loopback)
    : stream_(std::move(socket)), shard_(shard), from_loopback_(from_loopback) {}

void HttpSession::run() {
  // Runs inline: the shard's own listener accepted the socket on this thread.
  net::dispatch(stream_.get_executor(),
                beast::bind_front_handler(&HttpSession::do_read, shared_from_this()));
}

void HttpSession::do_read() {
  parser_.emplace();
  parser_->body_limit(shard_.context().config->max_body_bytes);
  parser_->header_limit(header_limit);
  stream_.expires_after(request_timeout);
  http::async_read(stream_, buffer_, *parser_,
                   beast::bind_front_handler(&HttpSession::on_read, shared_from_this()));
}

void HttpSession::on_read(beast::error_code ec, std::size_t) {
  ServerContext& ctx = shard_.context();
  if (ec == http::error::end_of_stream) return do_close();
  if (ec == http::error::body_limit) {
    ctx.metrics->count_error(ErrorCode::message_too_large);
    return write({413,
                  "application/json",
                  encode_http_error(ErrorCode::message_too_large,
                                    "request body is larger than REALTIME_MAX_BODY_BYTES (" +
                                        std::to_string(ctx.config->max_body_bytes) + ")"),
                  {}},
                 false);
  }
  if (ec) {
    if (ec.category() == http::make_error_code(http::error::bad_method).category()) {
      return write({400,
                    "application/json",
                    encode_http_error(ErrorCode::bad_request, "malformed HTTP request"),
                    {}},
                   false);
    }
    return do_close();  // timeout, reset: nobody to answer
  }

  auto& req = parser_->get();
  HttpRequest request;
  request.method = std::string(req.method_string());
  request.target = std::string(req.target());
  request.headers.reserve(16);
  for (const auto& field : req) {
    request.headers.emplace_back(lower(field.name_string()), std::string(field.value()));
  }
  request.from_loopback = from_loopback_;
  if (auto why = ambiguous_framing(request)) {
    // Closing is the point: what follows on the connection must not be read as a request.
    ctx.metrics->count_error(ErrorCode::bad_request);
    return write({400, "application/json", encode_http_error(ErrorCode::bad_request, *why), {}},
                 false);
  }

  if (beast::websocket::is_upgrade(req) && HttpApi::is_connect_path(request.target)) {
    return upgrade(std::move(request));
  }
  const bool socketio = ctx.gateway != nullptr && ctx.gateway->handles(request.target);
  if (socketio && beast::websocket::is_upgrade(req)) return socketio_upgrade(std::move(request));
  const bool keep_alive = req.keep_alive() && !ctx.shutting_down.load();
  const bool head = req.method() == http::verb::head;
  request.body = std::move(req.body());
  auto respond = [self = shared_from_this(), keep_alive, head,
                  origin = std::string(request.header("origin"))](HttpResponse response) {
    // The answer may come from another thread (a broker callback, a Socket.IO session's shard):
    // write on our own.
    net::post(self->stream_.get_executor(),
              [self, keep_alive, head, r = std::move(response)]() mutable {
                self->write(std::move(r), keep_alive, head);
              });
  };
  if (socketio && request.method != "OPTIONS") {
    // A long poll may wait up to a ping interval for its answer: no request deadline meanwhile.
    stream_.expires_never();
    return ctx.gateway->handle_http(
        request, shard_,
        [respond, api = ctx.api,
         origin = std::string(request.header("origin"))](HttpResponse r) mutable {
          api->add_cors_for(origin, r);
          respond(std::move(r));
        });
  }
  ctx.api->handle(request, std::move(respond));
}

void HttpSession::socketio_upgrade(HttpRequest request) {
  ServerContext& ctx = shard_.context();
  stream_.expires_never();
  // Bytes behind the request (a client may send frames before it sees our 101) go along.
  const auto extra = buffer_.cdata();
  std::string pending(static_cast<const char*>(extra.data()), extra.size());
  auto refused = ctx.gateway->upgrade(request, shard_, stream_.socket(), pending);
  if (refused) return write(std::move(*refused), false);
  // The gateway took the socket: this HTTP session ends here.
}

void HttpSession::upgrade(HttpRequest request) {
  ServerContext& ctx = shard_.context();
  if (ctx.shutting_down.load()) {
    return write({503,
                  "application/json",
                  encode_http_error(ErrorCode::unavailable, "server is shutting down"),
                  {}},
                 false);
  }
  auto decision = ctx.api->upgrade(request);
  if (auto* refusal = std::get_if<HttpResponse>(&decision)) {
    return write(std::move(*refusal), false);
  }
  auto& grant = std::get<UpgradeGrant>(decision);
  if (ctx.token_claims != nullptr && !grant.token_id.empty()) {
    // The token is valid and new to this node; whether another node saw it, Redis knows.
    const std::string jti = grant.token_id;
    ctx.token_claims->claim(
        jti, grant.token_expires_at,
        [self = shared_from_this(), grant = std::move(grant)](TokenClaims::Result r) mutable {
          net::post(self->stream_.get_executor(), [self, grant = std::move(grant), r]() mutable {
            self->on_token_claimed(std::move(grant), r);
          });
        });
    return;
  }
  start_websocket(std::move(grant));
}

void HttpSession::on_token_claimed(UpgradeGrant grant, TokenClaims::Result result) {
  if (result == TokenClaims::Result::first_use) return start_websocket(std::move(grant));
  ServerContext& ctx = shard_.context();
  ctx.metrics->release_connection();  // the slot upgrade() took
  ctx.metrics->count_rejected_upgrade();
  if (result == TokenClaims::Result::replayed) {
    return write(
        ctx.api->unauthorized({AuthFailure::replayed, "this connection token was already used"}),
        false);
  }
  write({503,
         "application/json",
         encode_http_error(ErrorCode::unavailable,
                           "cannot check the connection token now (Redis is unreachable)"),
         {}},
        false);
}

void HttpSession::start_websocket(UpgradeGrant grant) {
  stream_.expires_never();
  // Bytes behind the request (a client may send frames before it sees our 101) go along.
  const auto extra = buffer_.cdata();
  std::string pending(static_cast<const char*>(extra.data()), extra.size());
  auto session = std::make_shared<WsSession>(stream_.release_socket(), shard_, std::move(grant),
                                             std::move(pending));
  session->run();
}

void HttpSession::write(HttpResponse response, bool keep_alive, bool head) {
  response_ = std::make_shared<Response>(static_cast<http::status>(response.status), 11);
  response_->set(http::field::server, "nself-realtime/" REALTIME_VERSION);
  if (!response.content_type.empty()) {
    response_->set(http::field::content_type, response.content_type);
  }
  for (auto& [name, value] : response.headers) response_->set(name, value);
  response_->body() = std::move(response.body);
  response_->keep_alive(keep_alive);
  response_->prepare_payload();
  // A HEAD answer says how long the body would be, and sends none.
  if (head) response_->body().clear();
  stream_.expires_after(request_timeout);
  http::async_write(
      stream_, *response_,
      beast::bind_front_handler(&HttpSession::on_write, shared_from_this(), keep_alive));
}

void HttpSession::on_write(bool keep_alive, beast::error_code ec, std::size_t) {
  response_.reset();
  if (ec) return do_close();
  if (!keep_alive) return do_close();
  do_read();
}

void HttpSession::do_close() {
  beast::error_code ignored;
  stream_.socket().shutdown(net::ip::tcp::socket::shutdown_send, ignored);
  // Lingering close: read and drop what the client still sends (the rest of a refused body)
  // until it closes too, so the kernel doesn't answer with a reset that eats our response.
  buffer_.clear();
  stream_.expires_after(std::chrono::seconds(2));
  drain();
}

void HttpSession::drain() {
  stream_.async_read_some(buffer_.prepare(4096),
                          [self = shared_from_this()](beast::error_code ec, std::size_t) {
                            if (ec) return self->stream_.close();
                            self->drain();
                          });
}

}  // namespace realtime
