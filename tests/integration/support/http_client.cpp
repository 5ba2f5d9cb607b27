#include "support/http_client.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/parse.hpp>

#include <algorithm>
#include <stdexcept>

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace net = boost::asio;

namespace realtime::testing {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace

std::string HttpResponse::Header(std::string_view name) const {
  const std::string lower = Lower(name);
  for (const auto& [n, v] : headers) {
    if (n == lower) return v;
  }
  return {};
}

bool HttpResponse::HasHeader(std::string_view name) const {
  const std::string lower = Lower(name);
  return std::any_of(headers.begin(), headers.end(),
                     [&](const auto& h) { return h.first == lower; });
}

boost::json::value HttpResponse::Json() const { return boost::json::parse(body); }

struct HttpConnection::Impl {
  explicit Impl(std::uint16_t p) : port(p) {}

  const std::uint16_t port;
  net::io_context io;
  beast::tcp_stream stream{io};
  beast::flat_buffer buffer;
  bool connected = false;

  // Drives the io_context until `done`; tcp_stream's deadline bounds every operation.
  void RunUntil(const bool& done) {
    io.restart();
    while (!done && io.run_one() > 0) {
    }
  }

  void Disconnect() {
    beast::error_code ignored;
    stream.socket().close(ignored);
    buffer.clear();
    connected = false;
  }

  // One request and its response; `got_bytes` tells whether any of the response arrived.
  beast::error_code Exchange(http::request<http::string_body>& req,
                             http::response_parser<http::string_body>& parser,
                             std::chrono::milliseconds timeout, bool& got_bytes) {
    bool done = false;
    beast::error_code result;
    stream.expires_after(timeout);
    auto read = [&] {
      http::async_read(stream, buffer, parser, [&](beast::error_code ec, std::size_t n) {
        got_bytes = got_bytes || n > 0 || parser.got_some();
        result = ec;
        done = true;
      });
    };
    auto write = [&] {
      // Even if the write fails (the server refused a body it won't read), its answer may
      // already be here: read it.
      http::async_write(stream, req, [&](beast::error_code, std::size_t) { read(); });
    };
    if (connected) {
      write();
    } else {
      const net::ip::tcp::endpoint endpoint(net::ip::address_v4::loopback(), port);
      stream.async_connect(endpoint, [&](beast::error_code ec) {
        if (ec) {
          result = ec;
          done = true;
          return;
        }
        connected = true;
        write();
      });
    }
    RunUntil(done);
    return result;
  }
};

HttpConnection::HttpConnection(std::uint16_t port) : impl_(std::make_unique<Impl>(port)) {}

HttpConnection::~HttpConnection() = default;

HttpResponse HttpConnection::Send(std::string_view method, std::string_view target,
                                  std::string body, const Headers& headers,
                                  std::chrono::milliseconds timeout) {
  http::request<http::string_body> req;
  req.method_string(method);
  req.target(target);
  req.version(11);
  req.set(http::field::host, "127.0.0.1:" + std::to_string(impl_->port));
  for (const auto& [name, value] : headers) req.set(name, value);
  req.body() = std::move(body);
  req.prepare_payload();

  for (int attempt = 0;; ++attempt) {
    const bool reused = impl_->connected;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    bool got_bytes = false;
    const auto ec = impl_->Exchange(req, parser, timeout, got_bytes);
    if (ec) {
      impl_->Disconnect();
      if (reused && !got_bytes && attempt == 0) continue;  // closed while idle: retry once
      throw std::runtime_error(std::string(method) + " " + std::string(target) +
                               " failed: " + ec.message());
    }
    const auto& res = parser.get();
    HttpResponse out;
    out.status = static_cast<int>(res.result_int());
    for (const auto& field : res) {
      out.headers.emplace_back(Lower(field.name_string()), std::string(field.value()));
    }
    out.body = res.body();
    if (!res.keep_alive()) impl_->Disconnect();
    return out;
  }
}

HttpResponse HttpConnection::PostJson(std::string_view target, std::string body,
                                      const Headers& headers) {
  Headers all = headers;
  all.emplace_back("Content-Type", "application/json");
  return Send("POST", target, std::move(body), all);
}

HttpResponse SendHttp(std::uint16_t port, std::string_view method, std::string_view target,
                      std::string body, const Headers& headers, std::chrono::milliseconds timeout) {
  Headers all = headers;
  all.emplace_back("Connection", "close");
  return HttpConnection(port).Send(method, target, std::move(body), all, timeout);
}

HttpResponse HttpGet(std::uint16_t port, std::string_view target, const Headers& headers) {
  return SendHttp(port, "GET", target, {}, headers);
}

HttpResponse HttpPostJson(std::uint16_t port, std::string_view target, std::string body,
                          const Headers& headers) {
  Headers all = headers;
  all.emplace_back("Content-Type", "application/json");
  return SendHttp(port, "POST", target, std::move(body), all);
}

}  // namespace realtime::testing
