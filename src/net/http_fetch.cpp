#include "net/http_fetch.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>

#include <optional>
#include <stdexcept>

namespace net = boost::asio;
namespace http = boost::beast::http;
using boost::system::error_code;
using tcp = net::ip::tcp;

namespace realtime {
namespace {

struct Target {
  bool tls = false;
  std::string host;  // for DNS, SNI and the certificate check: no IPv6 brackets
  std::string port;
  std::string host_header;
  std::string path;  // origin-form: path and query
};

std::optional<Target> parse_target(const std::string& url) {
  auto parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed) return std::nullopt;
  Target t;
  if (parsed->scheme() == "https") {
    t.tls = true;
  } else if (parsed->scheme() != "http") {
    return std::nullopt;
  }
  t.host = parsed->host_address();
  if (t.host.empty()) return std::nullopt;
  t.port = parsed->has_port() ? std::string(parsed->port()) : (t.tls ? "443" : "80");
  t.host_header = std::string(parsed->encoded_host_and_port());
  t.path = std::string(parsed->encoded_target());
  if (t.path.empty()) t.path = "/";
  return t;
}

// One request from resolve to the parsed response, on one strand of `io` (its thread). Stream
// is a TCP socket or a TLS stream over one; the code is the same but for the handshake.
template <typename Stream>
class GetOp : public std::enable_shared_from_this<GetOp<Stream>> {
 public:
  GetOp(net::io_context& io, std::shared_ptr<net::ssl::context> tls, Target target,
        const HttpFetchOptions& options, std::function<void(HttpFetchResult)> done)
      : tls_(std::move(tls)),
        resolver_(io),
        stream_(make_stream(io, tls_.get())),
        deadline_(io),
        target_(std::move(target)),
        options_(options),
        done_(std::move(done)) {}

  void start() {
    deadline_.expires_after(options_.timeout);
    deadline_.async_wait([self = this->shared_from_this()](error_code ec) {
      if (!ec) {
        self->finish("no complete answer within " + std::to_string(self->options_.timeout.count()) +
                     " ms");
      }
    });
    resolver_.async_resolve(
        target_.host, target_.port,
        [self = this->shared_from_this()](error_code ec, tcp::resolver::results_type results) {
          if (ec) return self->finish("resolve " + self->target_.host + ": " + ec.message());
          net::async_connect(self->socket(), results,
                             [self](error_code ec, const tcp::endpoint&) { self->connected(ec); });
        });
  }

 private:
  static Stream make_stream(net::io_context& io, net::ssl::context* tls) {
    if constexpr (std::is_same_v<Stream, tcp::socket>) {
      return Stream(io);
    } else {
      return Stream(io, *tls);
    }
  }

  tcp::socket& socket() {
    if constexpr (std::is_same_v<Stream, tcp::socket>) {
      return stream_;
    } else {
      return stream_.next_layer();
    }
  }

  void connected(error_code ec) {
    if (ec) return finish("connect " + target_.host_header + ": " + ec.message());
    if constexpr (std::is_same_v<Stream, tcp::socket>) {
      send();
    } else {
      error_code ignored;
      const bool ip_literal = (net::ip::make_address(target_.host, ignored), !ignored);
      // SNI names a host, never an address (RFC 6066 §3).
      if (!ip_literal && !SSL_set_tlsext_host_name(stream_.native_handle(), target_.host.c_str())) {
        return finish("cannot set the TLS server name");
      }
      stream_.set_verify_mode(net::ssl::verify_peer);
      stream_.set_verify_callback(net::ssl::host_name_verification(target_.host));
      stream_.async_handshake(net::ssl::stream_base::client,
                              [self = this->shared_from_this()](error_code ec) {
                                if (ec) return self->finish("TLS handshake: " + ec.message());
                                self->send();
                              });
    }
  }

  void send() {
    request_.method(http::verb::get);
    request_.target(target_.path);
    request_.version(11);
    request_.set(http::field::host, target_.host_header);
    request_.set(http::field::user_agent, "nself-realtime/" REALTIME_VERSION);
    request_.set(http::field::accept, "application/json");
    request_.set(http::field::connection, "close");
    http::async_write(stream_, request_,
                      [self = this->shared_from_this()](error_code ec, std::size_t) {
                        if (ec) return self->finish("send the request: " + ec.message());
                        self->receive();
                      });
  }

  void receive() {
    parser_.body_limit(options_.body_limit);
    http::async_read(stream_, buffer_, parser_,
                     [self = this->shared_from_this()](error_code ec, std::size_t) {
                       if (ec == http::error::body_limit) {
                         return self->finish("the response is larger than " +
                                             std::to_string(self->options_.body_limit) + " bytes");
                       }
                       if (ec) return self->finish("read the response: " + ec.message());
                       self->finish(self->response());
                     });
  }

  HttpFetchResponse response() {
    auto& res = parser_.get();
    HttpFetchResponse out;
    out.status = static_cast<int>(res.result_int());
    out.cache_control = std::string(res[http::field::cache_control]);
    out.expires = std::string(res[http::field::expires]);
    out.date = std::string(res[http::field::date]);
    out.body = std::move(res.body());
    return out;
  }

  void finish(HttpFetchResult result) {
    if (!done_) return;  // the deadline and a completion can both arrive
    deadline_.cancel();
    resolver_.cancel();
    error_code ignored;
    socket().close(ignored);
    auto done = std::move(done_);
    done_ = nullptr;
    done(std::move(result));
  }

  std::shared_ptr<net::ssl::context> tls_;  // outlives the stream that uses it
  tcp::resolver resolver_;
  Stream stream_;
  net::steady_timer deadline_;
  Target target_;
  HttpFetchOptions options_;
  std::function<void(HttpFetchResult)> done_;
  http::request<http::empty_body> request_;
  boost::beast::flat_buffer buffer_;
  http::response_parser<http::string_body> parser_;
};

}  // namespace

std::shared_ptr<net::ssl::context> make_tls_client_context(const std::string& ca_file) {
  auto ctx = std::make_shared<net::ssl::context>(net::ssl::context::tls_client);
  error_code ec;
  if (ca_file.empty()) {
    ctx->set_default_verify_paths(ec);
  } else {
    ctx->load_verify_file(ca_file, ec);
  }
  if (ec) {
    throw std::runtime_error(
        (ca_file.empty() ? std::string("the system's CAs") : "\"" + ca_file + "\"") +
        ": no usable CA certificate (" + ec.message() + ")");
  }
  ctx->set_verify_mode(net::ssl::verify_peer);
  return ctx;
}

void http_get(net::io_context& io, std::shared_ptr<net::ssl::context> tls, const std::string& url,
              const HttpFetchOptions& options, std::function<void(HttpFetchResult)> done) {
  auto target = parse_target(url);
  if (!target) {
    return net::post(io, [done = std::move(done)] { done(std::string("not an http(s) URL")); });
  }
  if (!target->tls) {
    std::make_shared<GetOp<tcp::socket>>(io, nullptr, std::move(*target), options, std::move(done))
        ->start();
    return;
  }
  if (!tls) {
    return net::post(io, [done = std::move(done)] { done(std::string("no TLS context")); });
  }
  std::make_shared<GetOp<net::ssl::stream<tcp::socket>>>(io, std::move(tls), std::move(*target),
                                                         options, std::move(done))
      ->start();
}

}  // namespace realtime
