#include "net/http_client.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>

#include <optional>

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using boost::system::error_code;

namespace realtime {
namespace {

// A backend's answer to a check is small; anything larger is refused, not buffered.
constexpr std::size_t max_response_bytes = 1024 * 1024;
// Idle connections kept per origin.
constexpr std::size_t max_idle = 16;

struct Target {
  bool tls = false;
  std::string host;
  std::string port;
  std::string path;  // origin-form: /path?query
  std::string origin() const { return (tls ? "https://" : "http://") + host + ":" + port; }
};

std::optional<Target> parse_target(std::string_view url) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) return std::nullopt;
  Target t;
  const auto scheme = parsed->scheme();
  if (scheme == "https") {
    t.tls = true;
  } else if (scheme != "http") {
    return std::nullopt;
  }
  t.host = parsed->host();
  if (t.host.empty()) return std::nullopt;
  t.port = parsed->has_port() ? std::string(parsed->port()) : (t.tls ? "443" : "80");
  t.path = parsed->encoded_path().empty() ? "/" : std::string(parsed->encoded_path());
  if (parsed->has_query()) t.path += "?" + std::string(parsed->encoded_query());
  return t;
}

}  // namespace

struct HttpClient::Origin {
  std::vector<std::shared_ptr<Connection>> idle;
  std::size_t open = 0;  // connections open or opening, idle ones included
  std::deque<std::shared_ptr<Exchange>> waiting;
};

struct HttpClient::Exchange {
  HttpClientRequest request;
  Target target;
  Callback done;
  bool retried = false;
};

// One connection to one origin, used by one exchange at a time.
class HttpClient::Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(HttpClient& client, Origin& origin, const Target& target)
      : client_(client), origin_(origin), resolver_(client.executor_), deadline_(client.executor_) {
    if (target.tls) {
      tls_ = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(client.executor_, client.tls_);
    } else {
      plain_ = std::make_unique<beast::tcp_stream>(client.executor_);
    }
  }

  Origin& origin() { return origin_; }

  void run(std::shared_ptr<Exchange> exchange) {
    exchange_ = std::move(exchange);
    timed_out_ = false;
    reused_ = connected_;
    deadline_.expires_after(exchange_->request.timeout);
    deadline_.async_wait([self = shared_from_this()](error_code ec) {
      if (ec) return;
      self->timed_out_ = true;
      self->resolver_.cancel();
      self->close();
    });
    if (connected_) return do_write();
    const Target& t = exchange_->target;
    resolver_.async_resolve(
        t.host, t.port,
        [self = shared_from_this()](error_code ec, net::ip::tcp::resolver::results_type r) {
          self->on_resolve(ec, std::move(r));
        });
  }

 private:
  beast::tcp_stream& tcp() { return tls_ ? tls_->next_layer() : *plain_; }

  void close() {
    error_code ignored;
    tcp().socket().close(ignored);
    connected_ = false;
  }

  void on_resolve(error_code ec, net::ip::tcp::resolver::results_type results) {
    if (ec) return fail("cannot resolve " + exchange_->target.host + ": " + ec.message());
    tcp().async_connect(
        results, [self = shared_from_this()](error_code ec, const auto&) { self->on_connect(ec); });
  }

  void on_connect(error_code ec) {
    if (ec) return fail("cannot connect to " + exchange_->target.origin() + ": " + ec.message());
    tcp().socket().set_option(net::ip::tcp::no_delay(true), ec);
    if (!tls_) {
      connected_ = true;
      return do_write();
    }
    const std::string& host = exchange_->target.host;
    // SNI, and the certificate must name the host.
    if (!SSL_set_tlsext_host_name(tls_->native_handle(), host.c_str())) {
      return fail("TLS: cannot set the server name");
    }
    tls_->set_verify_callback(net::ssl::host_name_verification(host));
    tls_->async_handshake(net::ssl::stream_base::client,
                          [self = shared_from_this()](error_code ec) {
                            if (ec) return self->fail("TLS handshake: " + ec.message());
                            self->connected_ = true;
                            self->do_write();
                          });
  }

  void do_write() {
    const HttpClientRequest& r = exchange_->request;
    request_ = {};
    request_.method_string(r.method);
    request_.target(exchange_->target.path);
    request_.version(11);
    request_.set(http::field::host, exchange_->target.host);
    request_.set(http::field::user_agent, "nself-realtime/" REALTIME_VERSION);
    if (!r.body.empty() || r.method == "POST") {
      request_.set(http::field::content_type, r.content_type);
    }
    for (const auto& [name, value] : r.headers) request_.set(name, value);
    request_.body() = r.body;
    request_.keep_alive(true);
    request_.prepare_payload();
    auto on_write = [self = shared_from_this()](error_code ec, std::size_t) { self->on_write(ec); };
    if (tls_) {
      http::async_write(*tls_, request_, std::move(on_write));
    } else {
      http::async_write(*plain_, request_, std::move(on_write));
    }
  }

  void on_write(error_code ec) {
    if (ec) return retry_or_fail("sending the request: " + ec.message());
    parser_.emplace();
    parser_->body_limit(max_response_bytes);
    auto on_read = [self = shared_from_this()](error_code ec, std::size_t) { self->on_read(ec); };
    if (tls_) {
      http::async_read(*tls_, buffer_, *parser_, std::move(on_read));
    } else {
      http::async_read(*plain_, buffer_, *parser_, std::move(on_read));
    }
  }

  void on_read(error_code ec) {
    if (ec) {
      // A kept connection the server had closed fails before any byte of the answer.
      if (ec == http::error::end_of_stream || ec == net::error::eof ||
          ec == net::error::connection_reset) {
        return retry_or_fail("reading the response: " + ec.message());
      }
      return fail("reading the response: " + ec.message());
    }
    deadline_.cancel();
    auto& response = parser_->get();
    HttpClientResponse out;
    out.status = static_cast<int>(response.result_int());
    out.body = std::move(response.body());
    const bool reusable = response.keep_alive();
    if (!reusable) close();
    finish(std::move(out), reusable);
  }

  void retry_or_fail(std::string why) {
    if (reused_ && !timed_out_ && !exchange_->retried) {
      // The idle connection went stale; the request never reached the backend: once more on a
      // fresh connection.
      exchange_->retried = true;
      deadline_.cancel();
      close();
      buffer_.clear();
      auto exchange = std::move(exchange_);
      reused_ = false;
      if (tls_) {
        tls_ =
            std::make_unique<beast::ssl_stream<beast::tcp_stream>>(client_.executor_, client_.tls_);
      }
      return run(std::move(exchange));
    }
    fail(std::move(why));
  }

  void fail(std::string why) {
    deadline_.cancel();
    close();
    HttpClientResponse out;
    out.error =
        timed_out_ ? "timed out after " + std::to_string(exchange_->request.timeout.count()) + " ms"
                   : std::move(why);
    finish(std::move(out), false);
  }

  void finish(HttpClientResponse response, bool reusable) {
    auto exchange = std::move(exchange_);
    buffer_.clear();
    if (!reusable) buffer_ = {};
    // Hand the connection back first: the callback may issue the next request.
    if (*client_.alive_) client_.on_done(shared_from_this(), reusable);
    exchange->done(std::move(response));
  }

  HttpClient& client_;
  Origin& origin_;
  net::ip::tcp::resolver resolver_;
  net::steady_timer deadline_;
  std::unique_ptr<beast::tcp_stream> plain_;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> request_;
  std::optional<http::response_parser<http::string_body>> parser_;
  std::shared_ptr<Exchange> exchange_;
  bool connected_ = false;
  bool reused_ = false;
  bool timed_out_ = false;
};

HttpClient::HttpClient(net::any_io_executor executor, std::size_t max_per_origin)
    : executor_(std::move(executor)),
      max_per_origin_(max_per_origin),
      tls_(net::ssl::context::tls_client) {
  tls_.set_default_verify_paths();
  tls_.set_verify_mode(net::ssl::verify_peer);
}

HttpClient::~HttpClient() { *alive_ = false; }

void HttpClient::request(HttpClientRequest request, Callback done) {
  net::post(executor_,
            [this, alive = alive_, request = std::move(request), done = std::move(done)]() mutable {
              if (!*alive) return;
              auto target = parse_target(request.url);
              if (!target) {
                return done({0, {}, "not an http:// or https:// URL: " + request.url});
              }
              start(std::make_shared<Exchange>(
                  Exchange{std::move(request), std::move(*target), std::move(done), false}));
            });
}

void HttpClient::start(std::shared_ptr<Exchange> exchange) {
  auto& slot = origins_[exchange->target.origin()];
  if (!slot) slot = std::make_unique<Origin>();
  Origin& origin = *slot;
  if (!origin.idle.empty()) {
    auto connection = std::move(origin.idle.back());
    origin.idle.pop_back();
    return connection->run(std::move(exchange));
  }
  if (origin.open >= max_per_origin_) {
    origin.waiting.push_back(std::move(exchange));
    return;
  }
  ++origin.open;
  auto connection = std::make_shared<Connection>(*this, origin, exchange->target);
  connection->run(std::move(exchange));
}

void HttpClient::on_done(const std::shared_ptr<Connection>& connection, bool reusable) {
  Origin& origin = connection->origin();
  if (!origin.waiting.empty()) {
    auto next = std::move(origin.waiting.front());
    origin.waiting.pop_front();
    if (reusable) {
      // Run it after the current callback returned, on the same connection.
      net::post(executor_, [connection, next = std::move(next)]() mutable {
        connection->run(std::move(next));
      });
      return;
    }
    // A fresh connection takes the place of the one that closed.
    auto fresh = std::make_shared<Connection>(*this, origin, next->target);
    net::post(executor_,
              [fresh, next = std::move(next)]() mutable { fresh->run(std::move(next)); });
    return;
  }
  if (reusable && origin.idle.size() < max_idle) {
    origin.idle.push_back(connection);
  } else {
    --origin.open;
  }
}

}  // namespace realtime
